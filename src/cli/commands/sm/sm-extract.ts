// `openbar sm extract SAVESET_ID [--out FILE]`: writes a save set's content, every
// record checked. With --out the file appears only once the whole set checked out.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { fail } from '../../../common/errors.js';
import { Progress } from '../../../common/progress.js';
import { formatRate } from '../../../common/units.js';
import { action, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';

export function register(sm: Command, globals: Globals): void {
  subcommand(sm, 'extract <saveset-id>', "write a save set's content to --out FILE (or stdout), checking every record")
    .option('--out <file>', 'write here (created only when the whole save set checked out)')
    .option('--force', 'overwrite --out if it exists')
    .action(
      action(async (idText: string, opts: { out?: string; force?: boolean }) => {
        const ctx = loadContext(globals());
        const id = Number(idText);
        if (!Number.isSafeInteger(id) || id <= 0)
          fail('USAGE', `'${idText}' is not a save-set id`, 'ids are listed by `openbar sm savesets`');
        // a device or pipe (/dev/null, a FIFO) is written directly; a file appears only when whole
        const special = opts.out !== undefined && fs.existsSync(opts.out) && !fs.statSync(opts.out).isFile();
        if (opts.out && !special && fs.existsSync(opts.out) && !opts.force)
          fail('USAGE', `${opts.out} exists`, 'use --force to overwrite it');
        const sm = ctx.openStorage();
        try {
          const [info] = await sm.query({ id });
          if (!info) fail('NOT_FOUND', `save set ${id} does not exist`, 'list them with `openbar sm savesets`');
          const progress = new Progress({
            what: `extract ${id}`,
            total: info.rawBytes,
            log: ctx.log,
            logEveryMs: ctx.settings.progress_freq,
            tty: opts.out !== undefined,
          });
          if (opts.out) {
            const tmp = special
              ? opts.out
              : path.join(path.dirname(opts.out), `.${path.basename(opts.out)}.partial-${process.pid}`);
            try {
              const fh = await fsp.open(tmp, 'w', 0o600);
              try {
                for await (const chunk of sm.readChunks(id)) {
                  for (let done = 0; done < chunk.length;)
                    done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
                  progress.add(chunk.length);
                }
              } finally {
                await fh.close();
              }
              if (!special) fs.renameSync(tmp, opts.out);
            } catch (err) {
              if (!special) fs.rmSync(tmp, { force: true });
              throw err;
            }
          } else {
            const meter = new Transform({
              transform(chunk: Buffer, _e, cb) {
                progress.add(chunk.length);
                cb(null, chunk);
              },
            });
            await pipeline(sm.read(id), meter, process.stdout);
          }
          const { ms } = progress.finish();
          ctx.log.info(
            `extracted save set ${id} '${info.name}' (${info.rawBytes} bytes) to ${opts.out ?? 'stdout'}, ${formatRate(info.rawBytes, ms)}`,
          );
        } catch (err) {
          ctx.log.error(`extract of save set ${id} failed: ${(err as Error).message}`);
          throw err;
        } finally {
          await sm.close();
        }
      }),
    );
}
