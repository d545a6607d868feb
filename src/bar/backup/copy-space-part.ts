// The unit of work of a backup stream: one part of one space, read from the server's
// files into one save set. Parallel streams each run one of these at a time.

import type { Progress } from '../../common/progress.js';
import { trace } from '../../common/trace.js';
import type { BackupHandle, IncrementalSource, ServerInfo, SpaceFile, SpaceInfo } from '../../engine/engine.js';
import type { Transaction } from '../../sm/storage-manager.js';
import type { BarContext } from '../bar-context.js';
import { encodeSpacePart } from '../records/space-part-record.js';

export interface PartJob {
  readonly txn: Transaction;
  readonly aid: number;
  readonly level: number;
  /** levels 1 and 2: the first save set of the instance this part's space builds on */
  readonly baseCopyId: number | null;
  readonly incremental: IncrementalSource | undefined;
  readonly handle: BackupHandle;
  readonly info: ServerInfo;
  readonly space: SpaceInfo;
  /** the part's pieces, pulled as it goes (shared with the space's other parts) */
  readonly files: Iterable<SpaceFile>;
  readonly part: number;
  readonly parts: number;
  readonly progress: Progress;
  readonly signal?: AbortSignal | undefined;
  /** each regular file the part holds, with the size it is restored to (the backup's file list) */
  readonly onFile?: (path: string, size: number) => void;
}

export interface PartResult {
  readonly space: string;
  readonly part: number;
  readonly id: number;
  readonly bytes: number;
  /** filled in once the transaction commits */
  readonly storedBytes: number;
  readonly ms: number;
  readonly badPages: number;
  /** level 1/2 by WAL: of `bytes`, pages taken from the WAL's full-page images, not read from the files */
  readonly imagePages: number;
}

export async function copySpacePart(ctx: BarContext, job: PartJob): Promise<PartResult> {
  const started = Date.now();
  const writer = await job.txn.createObject(
    encodeSpacePart(
      { pool: ctx.settings.data_pool, server: ctx.server, space: job.space.name, level: job.level },
      {
        aid: job.aid,
        part: job.part,
        parts: job.parts,
        critical: job.space.critical,
        oid: job.space.oid,
        location: job.space.oid === null ? null : job.space.root,
        startLsn: job.handle.startLsn,
        timeline: job.handle.timeline,
        ...(job.level > 0
          ? {
              incremental: {
                baseCopyId: job.baseCopyId,
                baseLsn: job.incremental?.baseLsn ?? null,
                method: job.incremental?.method ?? null,
              },
            }
          : {}),
      },
    ),
  );
  let badPages = 0;
  let bytes = 0;
  let imagePages = 0;
  await ctx.engine().copySpace(job.space, job.files, writer, {
    server: ctx.server,
    systemId: job.info.systemId,
    level: job.level,
    part: job.part,
    parts: job.parts,
    startLsn: job.handle.startLsn,
    checksums: job.info.checksums,
    ...(job.signal ? { signal: job.signal } : {}),
    ...(job.incremental ? { incremental: job.incremental } : {}),
    ...(job.onFile ? { onFile: job.onFile } : {}),
    onBadPage: (p) => {
      badPages++;
      ctx.log.warn(`backup ${job.aid}: space ${p.space} file ${p.path} block ${p.block}: ${p.problem} (read twice)`);
    },
    onBytes: (n) => {
      bytes += n;
      job.progress.add(n);
    },
    onImagePages: (n) => {
      imagePages += n;
    },
  });
  await writer.close();
  trace(`backup: ${job.space.name} part ${job.part + 1}/${job.parts} copied`);
  const ms = Date.now() - started;
  ctx.log.info(
    `backup ${job.aid}: ${job.space.name} part ${job.part + 1}/${job.parts} stored as save set ${writer.id} (${bytes} bytes of files)`,
  );
  return { space: job.space.name, part: job.part, id: writer.id, bytes, storedBytes: 0, ms, badPages, imagePages };
}
