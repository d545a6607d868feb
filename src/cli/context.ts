// The composition root: what every command starts from. The validated settings (config
// file, environment, --set), the activity log, the storage manager of the home, and the
// engine: the one place that picks their implementations (the local storage manager,
// PostgreSQL), so that no command and nothing in bar/ names one. A home open to other
// users is said once per command (with the fix), never silently chmodded.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openActivityLog, warnUser, type ActivityLog } from '../common/activity-log.js';
import { loadSettings, requireSetting } from '../common/config.js';
import { configFileOf, NO_CONFIG } from './config-file.js';
import { fail } from '../common/errors.js';
import type { Settings } from '../common/options.js';
import { looseHomeWarning } from '../common/private-modes.js';
import type { Engine } from '../engine/engine.js';
import { LocalStorageManager, type LocalOptions } from '../sm/local/local-storage-manager.js';

let engine: Promise<Engine> | undefined;

/**
 * The engine (PostgreSQL), loaded by the first command of the process that needs it: its
 * modules cost start-up time that `history`, `sm …`, `config` or `--version` need not pay.
 * A command that reads flags with it (recovery targets, times) asks for it first.
 */
export function loadEngine(): Promise<Engine> {
  engine ??= import('../engine/postgres/postgres-engine.js').then((m) => m.postgresEngine);
  return engine;
}

export interface GlobalFlags {
  readonly config?: string;
  readonly set?: readonly string[];
}

export interface CommandContext {
  readonly settings: Settings;
  readonly home: string;
  readonly log: ActivityLog;
  /** what the local storage manager's own administration needs (sm scan, bootstrap recovery) */
  localOptions(): LocalOptions;
  openStorage(): LocalStorageManager;
  /** creates the home's storage manager: its catalog and the Data and Logs pools (init) */
  createStorage(): LocalStorageManager;
}

export function parseSetFlags(set: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of set ?? []) {
    const i = s.indexOf('=');
    if (i <= 0) fail('USAGE', `--set ${s}: expected key=value`);
    out[s.slice(0, i).trim()] = s.slice(i + 1);
  }
  return out;
}

export function loadContext(flags: GlobalFlags, extra: Record<string, string> = {}): CommandContext {
  const file = configFileOf(flags);
  const settings = loadSettings({
    file,
    env: process.env,
    overrides: { ...parseSetFlags(flags.set), ...extra },
  });
  if (file === undefined && settings.home === undefined) fail('CONFIG', NO_CONFIG.message, NO_CONFIG.hint);
  const home = requireSetting(settings, 'home');
  checkRunAsOwner(home);
  const log = openActivityLog(settings.activity_log ?? path.join(home, 'activity.log'));
  warnLooseHome(home, log);
  const localOptions = (): LocalOptions => ({
    home,
    log,
    maxVolumeSize: settings.max_volume_size,
    write: {
      compression: settings.compression,
      compressionLevel: settings.compression_level,
      recordSize: settings.xfer_buf_size,
      bufferCount: settings.xfer_buf_count,
    },
  });
  return {
    settings,
    home,
    log,
    localOptions,
    openStorage: () => LocalStorageManager.open(localOptions()),
    createStorage: () => LocalStorageManager.create(localOptions()),
  };
}

/**
 * As root, refuse to work in a home another user owns: files root creates there (catalog
 * journals, volumes) would lock that user, and archive_command with it, out.
 */
export function checkRunAsOwner(home: string): void {
  if (process.getuid?.() !== 0) return;
  let uid: number;
  try {
    uid = fs.statSync(home).uid;
  } catch {
    return;
  }
  if (uid === 0) return;
  const name = spawnSync('id', ['-nu', String(uid)], { encoding: 'utf8' }).stdout.trim() || String(uid);
  fail(
    'USAGE',
    `the home ${home} belongs to ${name}; running openbar as root there would leave files ${name} cannot write`,
    `run it as ${name}: runuser -u ${name} -- openbar ...`,
  );
}

const warned = new Set<string>();

/** Says once per process when the home or anything in it is open to other users (a few stats: every command runs it). */
export function warnLooseHome(home: string, log: ActivityLog): void {
  if (warned.has(home)) return;
  const w = looseHomeWarning(home);
  if (!w) return;
  warned.add(home);
  warnUser(log, w);
}
