// A thread that collects the WAL's block references for a level 1 or 2 backup, so the
// WAL is parsed while the server starts backup mode and the files are listed. Messages
// come in order: start, piece…, end, finish. A segment arrives in pieces (the records of
// its save set, in the sender's shared transfer buffers) and is read as they come. Each
// piece is answered as soon as it is copied here, so the sender fetches the next one while
// this one is read; the answer says whether reading is over and the LSN the reader needs
// next (as of the pieces before), so the sender stops fetching a segment the reader has
// left (the rest of a switched segment).

import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
// the thread may be lent to the worker pool once the WAL is read: it serves pool tasks too
import '../../../common/io/pool-worker.js';
import { loadNativeCrc32c } from '../../../common/io/crc32c.js';
import { BlockRefCollector } from './block-ref-collector.js';
import type { PartialRecord } from './wal-record-reader.js';
import type { WalSummary } from '../format/wal-summary.js';

export type WalWorkerRequest =
  | { type: 'start'; startLsn: bigint; sysid: bigint; segmentSize: number; keepImages?: number }
  /** a segment's summary, standing for its records */
  | { type: 'summary'; summary: WalSummary }
  /** where reading starts after the summaries: before any piece */
  | { type: 'read-from'; readFrom: bigint; resume?: PartialRecord }
  | { type: 'piece'; segno: number; offset: number; data: Uint8Array }
  /** read the segment from this file (pg_wal) from `from` to `to`, and with `rest` on while the reader needs more */
  | { type: 'file'; segno: number; path: string; from: number; to: number; rest: boolean }
  | { type: 'end'; endLsn: bigint }
  | { type: 'finish' }
  /** the reading is over (or abandoned): its memory is let go; the thread goes on serving pool tasks */
  | { type: 'drop' };

export type WalWorkerReply =
  | { type: 'copied'; done: boolean; nextLsn: number }
  | { type: 'ended'; done: boolean; nextLsn: number }
  /** fed: how far the segment has been read */
  | { type: 'file-read'; missing: boolean; fed: number; done: boolean; nextLsn: number }
  | { type: 'result'; result: ReturnType<BlockRefCollector['finish']> }
  | { type: 'error'; message: string };

/** Records are read up to here until the backup's own start LSN is known. */
const NO_END = BigInt(Number.MAX_SAFE_INTEGER);

let collector: BlockRefCollector | undefined;
/** the segment being put together, and how much of it has arrived */
let segment: Uint8Array | undefined;
let segno = -1;
let filled = 0;
let busy = 0;

parentPort!.on('message', (m: WalWorkerRequest) => {
  // a pool task (pool-worker.js serves it), or what was still on its way to a dropped reading
  if (typeof m?.type !== 'string' || (collector === undefined && m.type !== 'start')) return;
  try {
    switch (m.type) {
      case 'start':
        collector = new BlockRefCollector({
          startLsn: m.startLsn,
          endLsn: NO_END,
          sysid: m.sysid,
          ...(m.keepImages ? { keepImages: m.keepImages } : {}),
        });
        segment = new Uint8Array(m.segmentSize);
        break;
      case 'summary':
        collector!.addSummary(m.summary);
        break;
      case 'read-from':
        collector!.readFrom(m.readFrom, m.resume);
        break;
      case 'piece': {
        const c = collector!;
        if (m.segno !== segno) {
          segno = m.segno;
          filled = 0;
        }
        // pieces come in order; one the reader no longer needs is only given back
        const wanted = m.offset === filled && !c.done && filled + m.data.length <= segment!.length;
        if (wanted) segment!.set(m.data, filled);
        // the sender may reuse its buffer now, and fetch the next piece while this one is read
        reply({ type: 'copied', done: c.done, nextLsn: c.nextLsn });
        if (wanted) {
          filled += m.data.length;
          const t0 = performance.now();
          c.push(segment!, segno, filled);
          busy += performance.now() - t0;
        }
        break;
      }
      case 'file': {
        const c = collector!;
        if (m.segno !== segno) {
          segno = m.segno;
          filled = 0;
        }
        if (m.from !== filled) throw new Error(`segment ${m.segno} asked from ${m.from}, read to ${filled}`);
        const t0 = performance.now();
        const found = readFile(c, m.path, m.to, m.rest);
        busy += performance.now() - t0;
        reply({ type: 'file-read', missing: !found, fed: filled, done: c.done, nextLsn: c.nextLsn });
        break;
      }
      case 'end':
        collector!.setEnd(m.endLsn);
        reply({ type: 'ended', done: collector!.done, nextLsn: collector!.nextLsn });
        break;
      case 'drop':
        collector = undefined;
        segment = undefined;
        segno = -1;
        filled = 0;
        break;
      case 'finish': {
        if (process.env.OPENBAR_TRACE)
          process.stderr.write(
            `trace wal worker: ${busy.toFixed(0)} ms parsing, up ${performance.now().toFixed(0)} ms\n`,
          );
        const result = collector!.finish();
        // the kept pages move to the main thread, not copied
        reply({ type: 'result', result }, result.images?.chunks);
        break;
      }
    }
  } catch (err) {
    reply({ type: 'error', message: (err as Error).stack ?? String(err) });
  }
});

/** pg_wal is read in pieces of this size, each read before the next is asked for. */
const FILE_PIECE = 1 << 20;

/**
 * Reads segment `segno` from `file` into the segment buffer, piece by piece, each parsed
 * as it arrives: from `filled` to `to`, and with `rest` on to the file's end while the
 * reader still needs this segment. False when the file is not there.
 */
function readFile(c: BlockRefCollector, file: string, to: number, rest: boolean): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    const seg = segment!;
    const segEnd = (segno + 1) * seg.length;
    let end = Math.min(to, seg.length);
    while (!c.done && c.nextLsn < segEnd) {
      // else done, or the reader has left the segment (a WAL switch)
      if (filled >= end) {
        if (!rest || end >= seg.length) break;
        end = seg.length; // a record runs on past `to`: the rest of the file
      }
      const n = fs.readSync(fd, seg, filled, Math.min(FILE_PIECE, end - filled), filled);
      if (n <= 0) break;
      filled += n;
      c.push(seg, segno, filled);
    }
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

// the thread is mostly started before it is needed (src/common/io/prestarted-worker.ts):
// what every reading loads is loaded while it waits
loadNativeCrc32c();

function reply(r: WalWorkerReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(r, transfer);
}
