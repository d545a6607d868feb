// `openbar sm store --pool POOL --name NAME FILE`: stores a file as a save set and
// prints its id alone on the last line (or {"id": …} with --json), for scripts.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Command } from 'commander';
import { SaveSetKind } from '../../../bar/records/saveset-kinds.js';
import { fail } from '../../../common/errors.js';
import { checkName } from '../../../common/names.js';
import { Progress } from '../../../common/progress.js';
import { formatBytes, formatRate } from '../../../common/units.js';
import type { Compression } from '../../../sm/storage-manager.js';
import { action, jsonOption, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';
import { printJson } from '../../render.js';

export function register(sm: Command, globals: Globals): void {
  subcommand(sm, 'store <file>', 'store a file as a save set; prints the save-set id on the last line')
    .requiredOption('--pool <pool>', 'pool to store into (e.g. Data)')
    .requiredOption('--name <name>', 'object name of the save set')
    .option('--kind <kind>', 'kind recorded with the save set', SaveSetKind.file)
    .option('--compression <codec>', "none, lz4 or zstd (default: the pool's, else the config's)")
    .addOption(jsonOption())
    .action(
      action(
        async (
          file: string,
          opts: { pool: string; name: string; kind: string; compression?: string; json?: boolean },
        ) => {
          const ctx = loadContext(globals());
          checkName('object', opts.name);
          checkName('kind', opts.kind);
          if (opts.compression !== undefined && !['none', 'lz4', 'zstd'].includes(opts.compression))
            fail('USAGE', '--compression must be none, lz4 or zstd');
          let stat: fs.Stats;
          try {
            stat = fs.statSync(file);
          } catch {
            fail('NO_FILE', `cannot read ${file}: no such file`);
          }
          if (!stat.isFile()) fail('NO_FILE', `${file} is not a regular file`);
          fs.accessSync(file, fs.constants.R_OK);
          const sm = ctx.openStorage();
          try {
            const pools = await sm.pools();
            if (!pools.some((p) => p.name === opts.pool))
              fail('NOT_FOUND', `pool '${opts.pool}' does not exist`, `pools: ${pools.map((p) => p.name).join(', ')}`);
            const progress = new Progress({
              what: `store ${opts.name}`,
              total: stat.size,
              log: ctx.log,
              logEveryMs: ctx.settings.progress_freq,
            });
            const txn = await sm.beginTransaction();
            let info;
            try {
              const w = await txn.createObject({
                pool: opts.pool,
                server: ctx.settings.server,
                name: opts.name,
                kind: opts.kind,
                ...(opts.compression ? { compression: opts.compression as Compression } : {}),
              });
              // read straight into the writer's transfer buffers: no copy, no garbage
              const fh = await fsp.open(file, 'r');
              try {
                for (let pos = 0; ;) {
                  const n = await w.pour(async (space) => (await fh.read(space, 0, space.length, pos)).bytesRead);
                  if (n === 0) break;
                  pos += n;
                  progress.add(n);
                }
              } finally {
                await fh.close();
              }
              await w.close();
              [info] = await txn.commit();
            } catch (err) {
              await txn.abort();
              throw err;
            }
            const { ms } = progress.finish();
            const s = info!;
            ctx.log.info(
              `stored ${file} as save set ${s.id} '${s.name}' in pool ${s.pool} (${s.volumes.join(', ')}): ${s.rawBytes} bytes, ${s.storedBytes} stored, ${formatRate(s.rawBytes, ms)}`,
            );
            if (opts.json) return printJson({ ...s, ms });
            process.stdout.write(
              `stored ${file} in pool ${s.pool}, volume(s) ${s.volumes.join(', ')}: ${formatBytes(s.rawBytes)}, ${formatBytes(s.storedBytes)} stored (${s.compression}), ${formatRate(s.rawBytes, ms)}\n${s.id}\n`,
            );
          } finally {
            await sm.close();
          }
        },
      ),
    );
}
