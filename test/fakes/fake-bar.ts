// A backup client's context on fakes, for unit tests of bar/ without PostgreSQL: a fake
// cluster and its engine (adapter, offline side, checker, summarizer), an in-memory
// storage manager (optionally wrapped, to inject faults), and the real backup history
// (SQLite and boot file) in a temporary home.

import fs from 'node:fs';
import path from 'node:path';
import type { BarContext } from '../../src/bar/bar-context.js';
import { archiveWal } from '../../src/bar/log/archive-wal.js';
import type { ActivityLog } from '../../src/common/activity-log.js';
import { loadSettings } from '../../src/common/config.js';
import { BackupHistory } from '../../src/history/backup-history.js';
import { MemoryStorageManager } from '../../src/sm/memory/memory-storage-manager.js';
import type { StorageManager } from '../../src/sm/storage-manager.js';
import { tempDir } from '../harness/cli.js';
import { FakeCluster } from './fake-cluster.js';
import { fakeArchiveChecker, FakeOfflineEngine } from './fake-offline-engine.js';
import { FakeEngine, fakeWalSummarizer } from './fake-engine.js';
import { walFileKind } from './fake-wal.js';

export interface FakeBarOptions {
  /** settings as `--set` would give them */
  readonly settings?: Readonly<Record<string, string>>;
  /** wraps the storage manager the client uses (a fault injector) */
  readonly wrap?: (sm: StorageManager) => StorageManager;
  readonly tablespace?: boolean;
}

export interface FakeBar {
  readonly dir: string;
  readonly ctx: BarContext;
  /** the storage manager underneath any wrapper */
  readonly memory: MemoryStorageManager;
  readonly cluster: FakeCluster;
  readonly engine: FakeEngine;
  readonly offline: FakeOfflineEngine;
  /** the activity log's lines */
  readonly logged: string[];
  /**
   * The archiver: `log archive` (with summaries) of each file in pg_wal it has not handed
   * over yet, oldest first, but those in `except` (left for a later call); the names handed over.
   */
  archive(except?: readonly string[]): Promise<string[]>;
  /** the history opened again (as the next command opens it) */
  reopenHistory(): BackupHistory;
  dispose(): Promise<void>;
}

export const restoreCommand = (before?: string): string =>
  `openbar log restore %f %p${before ? ` --before ${before}` : ''}`;

export function fakeBar(opts: FakeBarOptions = {}): FakeBar {
  const dir = tempDir('fake-bar');
  const home = path.join(dir, 'home');
  fs.mkdirSync(home, { mode: 0o700 });
  const cluster = new FakeCluster(dir, { tablespace: opts.tablespace === true });
  const engine = new FakeEngine(cluster);
  const logged: string[] = [];
  const log: ActivityLog = {
    info: (m) => logged.push(m),
    warn: (m) => logged.push(`WARNING: ${m}`),
    error: (m) => logged.push(`ERROR: ${m}`),
  };
  const memory = MemoryStorageManager.create({ log });
  const sm = opts.wrap ? opts.wrap(memory) : memory;
  const settings = loadSettings({
    env: {},
    overrides: { home, server: 'fake', pg_data: cluster.dataDir, progress_freq: '1h', ...opts.settings },
  });
  let history = BackupHistory.open(home, 'fake', { create: true, log });
  const archived = new Set<string>();
  const offline = new FakeOfflineEngine(cluster);
  const ctx: BarContext = {
    settings,
    server: 'fake',
    home,
    configFile: undefined,
    log,
    sm,
    get history() {
      return history;
    },
    engine: () => engine,
    offline,
    checker: fakeArchiveChecker,
    summarizer: fakeWalSummarizer,
  };
  return {
    dir,
    ctx,
    memory,
    cluster,
    engine,
    offline,
    logged,
    async archive(except = []) {
      const out: string[] = [];
      for (const name of fs.readdirSync(cluster.pgWal).sort()) {
        if (!walFileKind(name) || except.includes(name) || archived.has(name) || name === cluster.currentSegment)
          continue;
        await archiveWal(ctx, path.join(cluster.pgWal, name), { summarizer: fakeWalSummarizer });
        archived.add(name);
        out.push(name);
      }
      return out;
    },
    reopenHistory() {
      history.close();
      history = BackupHistory.open(home, 'fake', { create: true, log });
      return history;
    },
    async dispose() {
      history.close();
      await sm.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` on a fresh fake client, disposed of afterwards. */
export async function withFakeBar(opts: FakeBarOptions, fn: (fb: FakeBar) => Promise<void>): Promise<void> {
  const fb = fakeBar(opts);
  try {
    await fn(fb);
  } finally {
    await fb.dispose();
  }
}
