// `openbar log archive PATH` (archive_command): stores one WAL file in the Logs pool
// and returns only once it is durable. The same file twice is fine; different content
// under a name already stored is refused (two clusters archiving into one server name).

import { ContentHasher, contentHash } from '../../common/io/content-hash.js';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fail } from '../../common/errors.js';
import { trace } from '../../common/trace.js';
import { walFileKind } from '../../engine/postgres/lsn.js';
import type { BarContext } from '../bar-context.js';
import { withWalNameLock } from './wal-name-lock.js';
import { hasSummary, makeSummary, storeSummary, writeSummary } from './wal-summaries.js';
import type { WalSummarizer } from '../../engine/engine.js';
import type { ObjectWriter } from '../../sm/storage-manager.js';

export interface ArchiveResult { readonly name: string; readonly id: number; readonly already: boolean; readonly bytes: number }

export interface ArchiveOptions {
  readonly action?: 'log-backup' | 'salvage';
  /**
   * Summarizes the file as it is stored (and a file stored earlier without a summary), so
   * levels 1 and 2 need not read it; a backup storing its own WAL leaves that to the
   * archiver, which comes by later with the same file.
   */
  readonly summarizer?: WalSummarizer;
}

export async function archiveWal(ctx: BarContext, file: string, opts: ArchiveOptions = {}): Promise<ArchiveResult> {
  const name = path.basename(file);
  const kind = walFileKind(name);
  if (!kind) fail('USAGE', `'${name}' is not a WAL file name`, 'archive_command passes %p, a path such as pg_wal/000000010000000000000001');
  // the summarizer needs the whole file at once; else it is read in pieces into one small
  // buffer and then straight into the save set's buffers: a 16 MiB segment read whole
  // into fresh memory costs ~10-20 ms of page faults alone
  const src = opts.summarizer ? wholeFile(file) : fileInPieces(file);
  try {
    // the check and the store are one step: another process storing the same file waits
    return await withWalNameLock(ctx.home, name, 120_000, () => storeWal(ctx, name, kind, src, opts));
  } finally {
    src.close();
  }
}

/** A WAL file to store: its size and content hash, and its bytes on demand. */
export interface WalSource {
  readonly size: number;
  readonly hash: string;
  /** the whole content, when it was read whole */
  readonly data?: Buffer;
  /** writes the content to `w`; fails (NO_FILE) when it is no longer what was hashed */
  writeTo(w: ObjectWriter): Promise<void>;
  close(): void;
}

function cannotRead(file: string, err: unknown): never {
  fail('NO_FILE', `cannot read WAL file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
}

function wholeFile(file: string): WalSource {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    cannotRead(file, err);
  }
  trace('wal store: read');
  const hash = contentHash(data);
  trace('wal store: hashed');
  return { size: data.length, hash, data, writeTo: (w) => w.write(data), close: () => {} };
}

/** Bytes read at a time by fileInPieces. */
const PIECE = 1 << 20;

/**
 * The file read twice through its descriptor: once in 1 MiB pieces to hash it, and again
 * when it is stored, straight into the writer's buffers, hashed again on the way: a file
 * recycled by the server in between (a segment archived meanwhile) fails as unreadable
 * rather than storing other bytes under the first hash.
 */
export function fileInPieces(file: string): WalSource {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    cannotRead(file, err);
  }
  try {
    const buf = Buffer.allocUnsafe(PIECE);
    const h = new ContentHasher();
    let size = 0;
    for (let n; (n = fs.readSync(fd, buf, 0, PIECE, size)) > 0; size += n) h.update(buf.subarray(0, n));
    const hash = h.hex();
    trace('wal store: read and hashed');
    return {
      size, hash,
      writeTo: async (w) => {
        const again = new ContentHasher();
        let at = 0;
        for (;;) {
          const n = await w.pour(async (space) => {
            const got = fs.readSync(fd, space, 0, Math.min(space.length, size - at), at);
            again.update(space.subarray(0, got));
            at += got;
            return got;
          });
          if (n === 0) break;
        }
        if (at !== size || again.hex() !== hash) fail('NO_FILE', `WAL file ${file} changed while it was stored (recycled by the server?)`);
      },
      close: () => fs.closeSync(fd),
    };
  } catch (err) {
    fs.closeSync(fd);
    cannotRead(file, err);
  }
}

async function storeWal(ctx: BarContext, name: string, kind: NonNullable<ReturnType<typeof walFileKind>>, src: WalSource, opts: ArchiveOptions): Promise<ArchiveResult> {
  const { hash, size } = src;
  const existing = await ctx.sm.query({ server: ctx.server, kind: 'wal', name });
  const same = existing.find((s) => s.meta.contentHash === hash);
  if (same) {
    const summary = opts.summarizer && src.data && !(await hasSummary(ctx, name)) ? await makeSummary(ctx, opts.summarizer, name, src.data) : undefined;
    const sid = summary ? await storeSummary(ctx, name, summary) : undefined;
    ctx.log.info(`log archive: ${name} already stored (save set ${same.id}), ${sid ? `its summary stored as save set ${sid}` : 'nothing to do'}`);
    return { name, id: same.id, already: true, bytes: size };
  }
  if (existing.length > 0) {
    fail('CONFLICT', `WAL file ${name} is already stored for server ${ctx.server} with different content (save set ${existing[0]!.id})`,
      'is another cluster archiving under the same server name? give each cluster its own `server` in the config');
  }
  trace('wal store: locked+queried');
  const aid = ctx.history.beginAction(opts.action ?? 'log-backup', null, { name });
  const txn = await ctx.sm.beginTransaction();
  trace('wal store: txn begun');
  try {
    const w = await txn.createObject({ pool: ctx.settings.log_pool, server: ctx.server, name, kind: 'wal', meta: { walKind: kind, size, contentHash: hash, aid } });
    // the summary is made while the WAL is compressed (in the codec workers)
    const writing = src.writeTo(w).then(() => w.close());
    writing.catch(() => {}); // awaited below
    const summary = opts.summarizer && src.data ? await makeSummary(ctx, opts.summarizer, name, src.data) : undefined;
    await writing;
    trace('wal store: written');
    if (summary) await writeSummary(ctx, txn, name, summary, aid);
    const [info] = await txn.commit();
    trace('wal store: committed');
    const time = info!.committed;
    ctx.history.recordInstances(aid, [{ object: name, type: 'L', level: 0, copyIds: [info!.id], time }]);
    ctx.history.endAction(aid, 0, 'completed');
    ctx.log.info(`log archive: ${name} stored as save set ${info!.id} (${size} bytes, ${info!.storedBytes} stored${summary ? ', summarized' : ''})`);
    return { name, id: info!.id, already: false, bytes: size };
  } catch (err) {
    await txn.abort().catch(() => {});
    ctx.history.endAction(aid, 1, (err as Error).message);
    throw err;
  }
}

/** Streams a stored WAL file to `dest` (via a temporary name, renamed when whole). */
export async function restoreWal(ctx: BarContext, name: string, dest: string): Promise<boolean> {
  const found = await ctx.sm.query({ server: ctx.server, kind: 'wal', name });
  if (found.length === 0) return false;
  const newest = found[found.length - 1]!;
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.openbar-${process.pid}`);
  try {
    await pipeline(ctx.sm.read(newest.id), fs.createWriteStream(tmp, { mode: 0o600 }));
    fs.renameSync(tmp, dest);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  ctx.log.info(`log restore: ${name} from save set ${newest.id} to ${dest}`);
  return true;
}
