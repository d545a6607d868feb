// `openbar log archive PATH` (archive_command): stores one WAL file in the Logs pool
// and returns only once it is durable. Nothing enters the archive unchecked: the file
// must be a whole WAL file of this cluster (the engine's gate: size, page headers, system
// identifier; a history or backup file's content), else nothing is stored and it fails.
// The same file twice is fine; different content under a name already stored is refused.

import { ContentHasher, contentHash } from '../../common/io/content-hash.js';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fail } from '../../common/errors.js';
import { trace } from '../../common/trace.js';
import type { BarContext } from '../bar-context.js';
import { SaveSetKind } from '../records/saveset-kinds.js';
import { decodeWal, encodeWal, type WalFileKind } from '../records/wal-record.js';
import { withWalNameLock } from './wal-name-lock.js';
import { hasSummary, makeSummary, storeSummary, writeSummary } from './wal-summaries.js';
import type {
  OfflineEngine,
  WalFileCheck,
  WalFileExpectations,
  WalFileVerdict,
  WalSummarizer,
} from '../../engine/engine.js';
import type { ObjectWriter } from '../../sm/storage-manager.js';

export interface ArchiveResult {
  readonly name: string;
  readonly id: number;
  readonly already: boolean;
  readonly bytes: number;
}

export interface ArchiveOptions {
  readonly action?: 'log-backup' | 'salvage';
  /**
   * Summarizes the file as it is stored (and a file stored earlier without a summary), so
   * levels 1 and 2 need not read it; a backup storing its own WAL leaves that to the
   * archiver, which comes by later with the same file.
   */
  readonly summarizer?: WalSummarizer;
  /** what the file must be; by default this cluster's, as pg_data and the history say */
  readonly expect?: WalFileExpectations;
}

export async function archiveWal(ctx: BarContext, file: string, opts: ArchiveOptions = {}): Promise<ArchiveResult> {
  const name = path.basename(file);
  const kind = ctx.offline.walPosition(name)?.kind;
  if (!kind)
    fail(
      'USAGE',
      `'${name}' is not a WAL file name`,
      'archive_command passes %p, a path such as pg_wal/000000010000000000000001',
    );
  const expect = opts.expect ?? thisCluster(ctx);
  const check = ctx.engine().walFileCheck(name, expect);
  // the summarizer needs the whole file at once (salvage too: a stale tail is zeroed);
  // else it is read in pieces into one small buffer and then straight into the save set's
  // buffers: a 16 MiB segment read whole into fresh memory costs ~10-20 ms of page faults
  const src = opts.summarizer || expect.salvage ? wholeFile(file, check) : fileInPieces(file, check);
  try {
    const verdict = src.verdict;
    if (!verdict.ok) refuse(ctx, name, verdict.problem, verdict.foreign ? 'foreign' : undefined);
    trace('wal store: checked');
    // the check and the store are one step: another process storing the same file waits
    return await withWalNameLock(ctx.home, name, 120_000, () => storeWal(ctx, name, kind, src, verdict, opts));
  } finally {
    src.close();
  }
}

/** What this cluster's WAL must carry: the system of pg_data's pg_control, else the one its backups recorded. */
export function thisCluster(ctx: BarContext): WalFileExpectations {
  const local = ctx.engine().localIdentity()?.systemId;
  const recorded = ctx.history.systemId();
  if (local !== undefined && recorded !== undefined && local !== recorded) {
    fail(
      'CONFLICT',
      `pg_data (${ctx.settings.pg_data}) holds database system ${local}, but the backups of server ${ctx.server} are of system ${recorded}`,
      'a new cluster (initdb, pg_upgrade) needs its own `server` name: give it a config of its own and point its archive_command there',
    );
  }
  return { systemId: local ?? recorded };
}

/** Refuses a file the gate did not pass: one activity-log line, one error; nothing is stored. */
function refuse(ctx: BarContext, name: string, problem: string, reason: 'foreign' | undefined): never {
  const foreign = reason === 'foreign';
  const message = `WAL file ${name} ${problem.startsWith('page ') ? `has a bad ${problem}` : problem}; not stored`;
  ctx.log.error(`log archive: ${message}`);
  fail(
    'BAD_WAL',
    message,
    foreign
      ? 'is another cluster archiving with this config? give each cluster its own `server` in its own config'
      : 'PostgreSQL hands archive_command whole WAL files of its own: find what wrote this one',
  );
}

/** A WAL file to store: its size and content hash, the gate's verdict on it, and its bytes on demand. */
export interface WalSource {
  readonly size: number;
  readonly hash: string;
  readonly verdict: WalFileVerdict;
  /** the whole content, when it was read whole */
  readonly data?: Buffer;
  /** writes the content to `w`; fails (NO_FILE) when it is no longer what was hashed */
  writeTo(w: ObjectWriter): Promise<void>;
  close(): void;
}

/**
 * The content hash of a WAL file as `log archive` would store it; undefined when the file
 * is gone, or was renamed or written while it was read (archived and recycled meanwhile:
 * its bytes then say nothing of what was archived under its name).
 */
export function walFileHash(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    cannotRead(file, err);
  }
  try {
    const before = fs.fstatSync(fd);
    const buf = Buffer.allocUnsafe(PIECE);
    const h = new ContentHasher();
    for (let at = 0, n; (n = fs.readSync(fd, buf, 0, PIECE, at)) > 0; at += n) h.update(buf.subarray(0, n));
    const after = fs.fstatSync(fd);
    const named = fs.statSync(file, { throwIfNoEntry: false });
    if (after.mtimeMs !== before.mtimeMs || after.size !== before.size || named?.ino !== before.ino) return undefined;
    return h.hex();
  } finally {
    fs.closeSync(fd);
  }
}

function cannotRead(file: string, err: unknown): never {
  fail('NO_FILE', `cannot read WAL file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
}

function wholeFile(file: string, check: WalFileCheck): WalSource {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    cannotRead(file, err);
  }
  trace('wal store: read');
  check.push(data);
  const verdict = check.end();
  // salvaged from a crashed server: its WAL ends at the first stale page, which replay would never read
  if (verdict.ok && verdict.validBytes !== undefined) data.fill(0, verdict.validBytes);
  const hash = contentHash(data);
  trace('wal store: hashed');
  return { size: data.length, hash, verdict, data, writeTo: (w) => w.write(data), close: () => {} };
}

/** Bytes read at a time by fileInPieces. */
const PIECE = 1 << 20;

/**
 * The file read twice through its descriptor: once in 1 MiB pieces to hash it, and again
 * when it is stored, straight into the writer's buffers, hashed again on the way: a file
 * recycled by the server in between (a segment archived meanwhile) fails as unreadable
 * rather than storing other bytes under the first hash.
 */
export function fileInPieces(file: string, check: WalFileCheck): WalSource {
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
    for (let n; (n = fs.readSync(fd, buf, 0, PIECE, size)) > 0; size += n) {
      const piece = buf.subarray(0, n);
      h.update(piece);
      check.push(piece);
    }
    const hash = h.hex();
    trace('wal store: read and hashed');
    return {
      size,
      hash,
      verdict: check.end(),
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
        if (at !== size || again.hex() !== hash)
          fail('NO_FILE', `WAL file ${file} changed while it was stored (recycled by the server?)`);
      },
      close: () => fs.closeSync(fd),
    };
  } catch (err) {
    fs.closeSync(fd);
    cannotRead(file, err);
  }
}

async function storeWal(
  ctx: BarContext,
  name: string,
  kind: WalFileKind,
  src: WalSource,
  verdict: WalFileVerdict & { ok: true },
  opts: ArchiveOptions,
): Promise<ArchiveResult> {
  const { hash, size } = src;
  const existing = await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.wal, name });
  const same = existing.find((s) => decodeWal(s).contentHash === hash);
  if (same) {
    const summary =
      opts.summarizer && src.data && !(await hasSummary(ctx, name))
        ? await makeSummary(ctx, opts.summarizer, name, src.data)
        : undefined;
    const sid = summary ? await storeSummary(ctx, name, summary) : undefined;
    ctx.log.info(
      `log archive: ${name} already stored (save set ${same.id}), ${sid ? `its summary stored as save set ${sid}` : 'nothing to do'}`,
    );
    return { name, id: same.id, already: true, bytes: size };
  }
  if (existing.length > 0) {
    fail(
      'CONFLICT',
      `WAL file ${name} is already stored for server ${ctx.server} with different content (save set ${existing[0]!.id})`,
      `is another cluster archiving under the same server name (give each its own \`server\`)? if the stored one is damaged (\`openbar sm extract ${existing[0]!.id}\`), remove it with \`openbar sm delete ${existing[0]!.id}\` and archiving resumes`,
    );
  }
  trace('wal store: locked+queried');
  const aid = ctx.history.beginAction(opts.action ?? 'log-backup', null, { name });
  const txn = await ctx.sm.beginTransaction();
  trace('wal store: txn begun');
  try {
    const w = await txn.createObject(
      encodeWal(
        { pool: ctx.settings.log_pool, server: ctx.server, name },
        {
          walKind: kind,
          size,
          contentHash: hash,
          aid,
          timeline: verdict.timeline,
          systemId: verdict.systemId,
          validBytes: verdict.validBytes,
        },
      ),
    );
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
    ctx.log.info(
      `log archive: ${name} stored as save set ${info!.id} (${size} bytes, ${info!.storedBytes} stored${summary ? ', summarized' : ''})`,
    );
    return { name, id: info!.id, already: false, bytes: size };
  } catch (err) {
    await txn.abort().catch(() => {});
    ctx.history.endAction(aid, 1, (err as Error).message);
    throw err;
  }
}

/**
 * Streams a stored WAL file to `dest` (via a temporary name, renamed when whole, its
 * stored checksums checked on the way); false only when the file is not stored, or is a
 * segment at or after `before` (a restore that accepted a gap: recovery ends there).
 * Anything else (damage, a catalog that cannot be read) throws: it is not the end of WAL.
 */
export async function restoreWal(ctx: BarContext, name: string, dest: string, before?: string): Promise<boolean> {
  if (before !== undefined && ctx.offline.walPosition(before)?.kind !== 'segment')
    fail('USAGE', `--before ${before} is not a WAL segment name`);
  if (before !== undefined && atOrAfter(ctx.offline, name, before)) {
    ctx.log.info(`log restore: ${name} not served: the restore ends recovery before ${before}`);
    return false;
  }
  const found = await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.wal, name });
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

/**
 * Whether WAL file `name` is a segment (or .partial) at or after segment `bound` on a
 * timeline at most bound's: the WAL a recovery told to end before `bound` must not read
 * (a later timeline, made by that recovery's promotion, is not bounded).
 */
function atOrAfter(offline: Pick<OfflineEngine, 'walPosition'>, name: string, bound: string): boolean {
  const n = offline.walPosition(name);
  const b = offline.walPosition(bound);
  if ((n?.kind !== 'segment' && n?.kind !== 'partial') || b?.kind !== 'segment') return false;
  return n.timeline <= b.timeline && (n.position ?? '') >= (b.position ?? '');
}
