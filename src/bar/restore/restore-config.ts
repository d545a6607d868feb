// The configuration a restore writes beside the data directory: the backup's
// configuration save set (the files its server kept outside its data directory), the one
// its label's instance in the history names, checked before anything is written, and
// placed once the spaces are.

import { fail } from '../../common/errors.js';
import type { ConfigEntry, PlacedConfig } from '../../engine/engine.js';
import { readWhole } from '../../sm/storage-manager.js';
import type { BarContext } from '../bar-context.js';
import { decodeConfig, decodeConfigContent } from '../records/config-record.js';

/** What the backup holds of its configuration, and where the restore puts it. */
export interface RestoreConfig {
  readonly entries: readonly ConfigEntry[];
  readonly configDir: string | undefined;
}

/**
 * Step: configuration save set `id` of backup `aid` (as its label's instance lists it),
 * read and checked, and its place checked (never over a running cluster's files, nor over
 * what the restore writes); undefined when the backup has none (its configuration was
 * inside the data directory, or an older openbar took it). `written`: a --restart of a
 * restore that already wrote into this --config-dir, whose files are its own.
 */
export async function planConfig(
  ctx: BarContext,
  aid: number,
  id: number | undefined,
  f: { configDir: string | undefined; written: boolean },
): Promise<RestoreConfig | undefined> {
  if (id === undefined) {
    if (f.configDir !== undefined)
      fail(
        'USAGE',
        `--config-dir: backup ${aid} holds no configuration files kept outside its data directory`,
        'its configuration is restored inside the data directory; leave --config-dir out',
      );
    return undefined;
  }
  const [info] = await ctx.sm.query({ id });
  if (!info)
    fail(
      'UNREACHABLE',
      `the configuration save set ${id} of backup ${aid} is gone from storage`,
      'restore another backup, or run `openbar sm scan` and `openbar sync` if the catalog is behind',
    );
  const meta = decodeConfig(info, { server: ctx.server, aid });
  const entries = decodeConfigContent(await readWhole(ctx.sm, id), id, meta.files);
  const problem = ctx.offline.checkConfigPlace(entries, f.configDir, { ours: f.written });
  if (problem) fail('USAGE', problem, 'give --config-dir a new or empty directory');
  return { entries, configDir: f.configDir };
}

/** Step: the configuration files written for the restored copy, what was changed in them logged and reported. */
export function writeConfig(
  ctx: BarContext,
  c: RestoreConfig,
  f: { aid: number; dataDir: string; report?: ((line: string) => void) | undefined },
): PlacedConfig {
  const placed = ctx.offline.placeConfig(c.entries, { dataDir: f.dataDir, configDir: c.configDir });
  ctx.log.info(
    `restore ${f.aid}: configuration kept outside the original data directory written to ${placed.configDir}: ${placed.written.join(', ')}`,
  );
  const from = c.entries.find((e) => e.role === 'main')?.path ?? c.entries[0]!.path;
  f.report?.(`${'config'.padEnd(12)} restored to ${placed.configDir} from ${from} (${c.entries.length} file(s))`);
  for (const n of placed.notes) f.report?.(`note: ${n}`);
  return placed;
}
