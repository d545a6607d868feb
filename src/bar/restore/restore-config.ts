// The configuration a restore writes beside the data directory: the backup's
// configuration save set (the files its server kept outside its data directory), found by
// the backup's id, checked before anything is written, and placed once the spaces are.

import { fail } from '../../common/errors.js';
import type { ConfigEntry, PlacedConfig } from '../../engine/engine.js';
import { readWhole } from '../../sm/storage-manager.js';
import type { BarContext } from '../bar-context.js';
import { decodeConfig, decodeConfigContent } from '../records/config-record.js';
import { SaveSetKind } from '../records/saveset-kinds.js';

/** What the backup holds of its configuration, and where the restore puts it. */
export interface RestoreConfig {
  readonly entries: readonly ConfigEntry[];
  readonly originalDataDir: string;
  readonly configDir: string | undefined;
}

/**
 * Step: the configuration save set of backup `aid`, read and checked, and its place
 * checked (never over a running cluster's files); undefined when the backup has none (its
 * configuration was inside the data directory, or an older openbar took it).
 */
export async function planConfig(
  ctx: BarContext,
  aid: number,
  f: { dataDir: string; configDir: string | undefined; restart: boolean },
): Promise<RestoreConfig | undefined> {
  const sets = await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.config });
  const mine = sets.map((s) => ({ s, m: decodeConfig(s) })).filter((x) => x.m.aid === aid);
  const set = mine[mine.length - 1];
  if (!set) {
    if (f.configDir !== undefined)
      fail(
        'USAGE',
        `--config-dir: backup ${aid} holds no configuration files kept outside its data directory`,
        'its configuration is restored inside the data directory; leave --config-dir out',
      );
    return undefined;
  }
  const entries = decodeConfigContent(await readWhole(ctx.sm, set.s.id), set.s.id);
  const problem = f.restart ? undefined : ctx.offline.checkConfigPlace?.(entries, f.dataDir, f.configDir);
  if (problem) fail('USAGE', problem, 'give --config-dir a new or empty directory');
  return { entries, originalDataDir: set.m.dataDir, configDir: f.configDir };
}

/** Step: the configuration files written for the restored copy, what was changed in them logged and reported. */
export function writeConfig(
  ctx: BarContext,
  c: RestoreConfig,
  f: { aid: number; dataDir: string; report?: ((line: string) => void) | undefined },
): PlacedConfig | undefined {
  const placed = ctx.offline.placeConfig?.(c.entries, {
    dataDir: f.dataDir,
    originalDataDir: c.originalDataDir,
    configDir: c.configDir,
  });
  if (!placed) return undefined;
  ctx.log.info(
    `restore ${f.aid}: configuration kept outside the original data directory written to ${placed.configDir}: ${placed.written.join(', ')}`,
  );
  const from = c.entries.find((e) => e.role === 'main')?.path ?? c.entries[0]!.path;
  f.report?.(`${'config'.padEnd(12)} restored to ${placed.configDir} from ${from} (${c.entries.length} file(s))`);
  for (const n of placed.notes) f.report?.(`note: ${n}`);
  return placed;
}
