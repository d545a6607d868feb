// Finds the pages changed since a base backup from the WAL: the segments from the one
// holding the base's start to the one holding this backup's start, each taken from the
// Logs pool or, not yet archived, from the server's pg_wal (checked like any other: a
// recycled file fails its page addresses). Anything the WAL cannot vouch for (a missing
// segment, damage, a record of unknown effect) comes back as a reason, not a guess.
//
// Archived segments with a summary (written by `log archive`, see format/wal-summary.ts) are
// not read at all: their summaries say what they change. Reading starts before this
// backup's start LSN is known: the summaries are taken and the archived segments without
// one parsed on a thread of their own while the server checkpoints for backup mode, and
// `finish` reads the rest once the start is known. Records read past that start only
// add pages to copy, which is always safe (WAL replay from the start rewrites them).

import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { OpenbarError } from '../../../common/errors.js';
import { trace } from '../../../common/trace.js';
import { parseLsn, segmentOf, walFileName } from '../format/lsn.js';
import { PageChanges } from './page-changes.js';
import { lsnText } from '../format/wal-page.js';
import { decodeWalSummary, type WalSummary } from '../format/wal-summary.js';
import type { PartialRecord } from './wal-record-reader.js';
import { movable } from '../../../common/io/worker-pool.js';
import type { WalWorkerReply, WalWorkerRequest } from './wal-changes-worker.js';
import type { WalChanges } from './block-ref-collector.js';
import type { WalSources, WorkerLender, WorkerLoan } from '../../engine.js';
import { warmPgWal } from './warm-pg-wal.js';
import { takePrestarted } from '../../../common/io/prestarted-worker.js';
import { WAL_PAGE_SIZE } from '../format/page-size.js';

export interface WalChangesInput {
  readonly fromLsn: string;
  readonly timeline: number;
  readonly segmentSize: number;
  readonly systemId: string;
  readonly pgWal: string;
  /** the WAL files and their summaries in the Logs pool */
  readonly sources: WalSources;
  /** lends the reading thread to other work once it is idle (see WorkerLender) */
  readonly lend?: WorkerLender;
  /** keep pages the WAL's full-page images restore, for the copy (wal/block-images.ts) */
  readonly pageImages?: boolean;
}

/**
 * Pages restored from the WAL's full-page images (their blocks' last references) are kept
 * up to this many, 32 MiB: the copy takes them instead of reading them (wal/block-images.ts).
 */
const KEEP_IMAGES = 4096;

/** Enough of a WAL page to hold any record header that starts before the end LSN. */

type WalChangesResult =
  { changes: PageChanges; records: number; walBytes: number; summarized: number } | { incomplete: string };

export class WalChangesReading {
  private readonly worker: Worker;
  private readonly replies: WalWorkerReply[] = [];
  private waiting: ((r: WalWorkerReply) => void) | undefined;
  private failed: Error | undefined;
  private segno: bigint;
  private done = false;
  private ended = false;
  /** the LSN the reader needs next, as of its latest answer */
  private nextLsn = 0;
  private readonly archived: Promise<void>;
  /** how much of segment `segno` has been handed over, when part of it was (read ahead from pg_wal) */
  private fed = 0;
  /** WAL the server has flushed (walWritten): what of pg_wal can be read before the end is known */
  private ahead: Promise<void> = Promise.resolve();
  /** segments taken from their summaries */
  private summarized = 0;

  /** the thread lent to other work, which it takes on when this reading is over */
  private readonly loan: WorkerLoan | undefined;
  /** abort has run: the thread is terminated, or given back to its borrower */
  private letGo = false;

  constructor(private readonly i: WalChangesInput) {
    this.segno = segmentOf(parseLsn(i.fromLsn), i.segmentSize);
    // what will be read from pg_wal is read into memory meanwhile, while the reading thread starts
    warmPgWal(i.pgWal, i.timeline, i.segmentSize, this.segno);
    const script = new URL('./wal-changes-worker.js', import.meta.url);
    // started by the launcher when the command line asked for a level 1 or 2
    const prestarted = takePrestarted(script);
    this.worker = prestarted ?? new Worker(script);
    this.loan = i.lend?.(this.worker);
    this.worker.on('message', (r: WalWorkerReply) => {
      if (typeof r?.type === 'string') this.deliver(r);
    }); // else a task of the borrower's
    this.worker.on('error', (err) => {
      this.failed ??= err;
      this.deliver({ type: 'error', message: err.message });
    });
    // a thread that ends before its answer (terminated, out of memory) must not leave finish waiting
    this.worker.on('exit', () => {
      this.failed ??= new Error('the WAL reading thread ended');
      this.deliver({ type: 'error', message: this.failed.message });
    });
    this.post({
      type: 'start',
      startLsn: parseLsn(i.fromLsn),
      sysid: BigInt(i.systemId),
      segmentSize: i.segmentSize,
      ...(i.pageImages ? { keepImages: KEEP_IMAGES } : {}),
    });
    trace(`wal: reading started (${prestarted ? 'thread started by the launcher' : 'thread started now'})`);
    this.archived = this.takeSummaries().then(() => this.readArchived());
    this.archived.catch(() => {}); // awaited by finish; an abandoned reading must not count as unhandled
  }

  /**
   * The server has flushed WAL up to `lsn`: what pg_wal holds of it, after the archived
   * segments, is read now (it cannot change any more), not when the end is known.
   */
  walWritten(lsn: string): void {
    const written = parseLsn(lsn);
    this.ahead = this.ahead.then(() => this.archived).then(() => this.readAhead(written));
    this.ahead.catch(() => {}); // awaited by finish
    // the thread then waits for backup mode: the borrower's work can load meanwhile
    this.ahead.then(
      () => this.loan?.warm(),
      () => {},
    );
  }

  /** Reads on to `toLsn` (this backup's start), then says which pages changed, or why the WAL cannot tell. */
  async finish(toLsn: string): Promise<WalChangesResult> {
    try {
      await this.archived;
      await this.ahead;
      trace('wal: archived segments read');
      const to = parseLsn(toLsn);
      this.post({ type: 'end', endLsn: to });
      this.ended = false;
      while (!this.ended) await this.settleOne();
      let missing: string | undefined;
      const last = segmentOf(to, this.i.segmentSize);
      while (!this.done && this.segno <= last) {
        const name = walFileName(this.i.timeline, this.segno, this.i.segmentSize);
        // not archived yet (the segment holding this backup's start, at least): read from pg_wal
        // only as far as the reader needs
        const upTo = Math.min(
          this.i.segmentSize,
          Number(to - BigInt(this.segno) * BigInt(this.i.segmentSize)) + WAL_PAGE_SIZE,
        );
        // a segment begun from pg_wal goes on from there (else from the Logs pool, where it may be by now)
        const fromPool = async () => {
          const p = await this.open(this.segno);
          if (p) await this.feed(p);
          return p !== undefined;
        };
        const fromPgWal = () => this.feedFile(upTo, true, false);
        const found =
          this.fed > 0 ? (await fromPgWal()) || (await fromPool()) : (await fromPool()) || (await fromPgWal());
        if (!found) {
          missing = name;
          break;
        }
      }
      this.post({ type: 'finish' });
      const r = await this.next();
      if (r.type !== 'result') throw new Error(`unexpected reply ${r.type}`);
      const w = r.result as WalChanges;
      if (missing)
        return {
          incomplete: `WAL file ${missing} (between ${this.i.fromLsn} and ${toLsn}) is neither in the Logs pool nor in pg_wal`,
        };
      if (!w.complete)
        return { incomplete: `the WAL between ${this.i.fromLsn} and ${toLsn} cannot be read: ${w.stop.message}` };
      if (w.unknownCount > 0) {
        const u = w.unknown[0]!;
        return {
          incomplete: `${w.unknownCount} WAL record(s) change relations in ways openbar cannot follow (first at ${lsnText(u.lsn)}: ${u.reason})`,
        };
      }
      return { changes: new PageChanges(w), records: w.records, walBytes: w.walBytes, summarized: this.summarized };
    } finally {
      this.abort();
    }
  }

  /** Stops reading (a backup that failed, or took another base); a lent thread lets go of the WAL and goes on with the borrower's work. */
  abort(): void {
    if (this.letGo) return;
    this.letGo = true;
    if (!this.loan) {
      void this.worker.terminate();
      return;
    }
    this.done = true; // nothing more is fed
    this.post({ type: 'drop' });
    this.loan.release();
  }

  /**
   * The summaries of the archived segments from the base's start on, while each follows on
   * from the one before, then the start of reading: after the last summary, on with the
   * record it kept the first bytes of (or from that record's start when it kept only its
   * LSN: a record longer than a summary keeps), or where the first segment without a
   * summary begins.
   */
  private async takeSummaries(): Promise<void> {
    const from = parseLsn(this.i.fromLsn);
    // each summary goes to the reading thread as it comes: memory follows the distinct blocks, not the WAL's length
    let last: WalSummary | undefined;
    // a summary that cannot be had (damaged, say) only means its segment is read instead
    const get = (segno: bigint) =>
      this.i.sources.summary(walFileName(this.i.timeline, segno, this.i.segmentSize)).catch((err: Error) => {
        trace(`wal: summary of segment ${segno} cannot be read (${err.message}), the segment is read instead`);
        return undefined;
      });
    // four asked for at a time: each is a catalog query and a small read
    const asked: Promise<Uint8Array | undefined>[] = [];
    const ask = (k: number) => (asked[k] ??= get(this.segno + BigInt(k)));
    for (let k = 0, segno = this.segno; ; k++, segno++) {
      for (let j = k; j < k + 4; j++) ask(j);
      const bytes = await ask(k);
      if (!bytes) break;
      let s: WalSummary;
      try {
        s = decodeWalSummary(bytes);
      } catch (err) {
        trace(`wal: summary of segment ${segno} unreadable (${(err as Error).message}), the segment is read instead`);
        break;
      }
      // the record running on from the segment before must be in it, but for the first (it starts before the base)
      if (s.segno !== Number(segno) || s.segmentSize !== this.i.segmentSize || s.systemId !== this.i.systemId) break;
      if (last && s.head === 'unresolved') break;
      this.post({ type: 'summary', summary: s });
      this.summarized++;
      last = s;
    }
    let readFrom = from;
    let resume: PartialRecord | undefined;
    if (last) {
      const after = BigInt(last.segno + 1) * BigInt(this.i.segmentSize);
      if (last.tail?.bytes) resume = { lsn: last.tail.lsn, totLen: last.tail.totLen, bytes: last.tail.bytes };
      readFrom = last.tail && !last.tail.bytes ? BigInt(last.tail.lsn) : after;
      if (readFrom < from) readFrom = from;
      this.segno = segmentOf(readFrom, this.i.segmentSize);
    }
    this.post({ type: 'read-from', readFrom, ...(resume ? { resume } : {}) });
    trace(`wal: ${this.summarized} segment(s) from summaries, reading from ${lsnText(Number(readFrom))}`);
  }

  /**
   * The archived segments without summaries, while they are there. The next
   * segment's save set is opened and read ahead while one is parsed, so the reading
   * thread does not wait on each one's start.
   */
  private async readArchived(): Promise<void> {
    let cur = await this.open(this.segno);
    try {
      while (cur && !this.done) {
        const ahead = await this.open(this.segno + 1n);
        const fed = cur;
        cur = ahead;
        await this.feed(fed);
      }
    } finally {
      await cur?.return?.();
    }
  }

  /** A segment's save set, its reading started; undefined when the Logs pool does not have it. */
  private async open(segno: bigint): Promise<AsyncIterator<Uint8Array> | undefined> {
    const pieces = await this.i.sources.archived(walFileName(this.i.timeline, segno, this.i.segmentSize));
    if (!pieces) return undefined;
    const it = pieces[Symbol.asyncIterator]();
    const first = it.next();
    first.catch(() => {}); // taken (and its failure thrown) by feed
    return primed(it, first);
  }

  /**
   * The segments after the archived ones, from pg_wal, as far as `written` (whole pages
   * only: the page holding it may still be filling). A segment read in part is finished
   * by `finish`.
   */
  private async readAhead(written: bigint): Promise<void> {
    const size = BigInt(this.i.segmentSize);
    while (!this.done) {
      const flushed = written - this.segno * size;
      const limit = Number(flushed >= size ? size : flushed - (flushed % BigInt(WAL_PAGE_SIZE)));
      if (limit <= this.fed) return;
      if (!(await this.feedFile(limit, false, limit < this.i.segmentSize))) return; // finish finds out where it is
      trace(`wal: read ahead from pg_wal to ${lsnText(Number(this.segno * size) + this.fed)}`);
    }
  }

  /**
   * Has the reading thread read segment `this.segno` from pg_wal itself, from where it was
   * left to `to` (and with `rest`, on to the file's end while the reader needs more);
   * false when the file is not there. `partial`: more of the segment comes later.
   */
  private async feedFile(to: number, rest: boolean, partial: boolean): Promise<boolean> {
    const segno = this.segno;
    const file = path.join(this.i.pgWal, walFileName(this.i.timeline, segno, this.i.segmentSize));
    this.post({ type: 'file', segno: Number(segno), path: file, from: this.fed, to: Math.max(to, this.fed), rest });
    const r = await this.next();
    if (r.type !== 'file-read') throw new Error(`unexpected reply ${r.type}`);
    if (r.missing) return false;
    this.done ||= r.done;
    this.nextLsn = r.nextLsn;
    this.fed = r.fed;
    trace(`wal: segment ${segno} read from pg_wal (to ${this.fed} bytes)`);
    if (
      !partial ||
      this.done ||
      this.nextLsn >= Number((segno + 1n) * BigInt(this.i.segmentSize)) ||
      this.fed >= this.i.segmentSize
    ) {
      this.segno++;
      this.fed = 0;
    }
    return true;
  }

  /**
   * Hands segment `this.segno`, a save set read from its start, to the reader piece by
   * piece from where it was left (`fed`), each copied by the reader before the next is
   * fetched (a piece lives in a transfer buffer that is reused), and stops fetching it once
   * the reader has left it: after a WAL switch the rest of a segment is unused, and
   * archive_timeout makes many such segments. The segment is done with afterwards.
   */
  private async feed(pieces: AsyncIterator<Uint8Array>): Promise<void> {
    const segno = this.segno;
    const segEnd = Number((segno + 1n) * BigInt(this.i.segmentSize));
    let offset = 0;
    try {
      for (;;) {
        const r = await pieces.next();
        if (r.done) break;
        let data = r.value;
        let at = offset;
        offset += data.length;
        if (offset <= this.fed) continue; // handed over before (a source starting at the segment's beginning)
        if (at < this.fed) {
          data = data.subarray(this.fed - at);
          at = this.fed;
        }
        // a piece in memory of its own (read from pg_wal) moves; one in a shared buffer is shared
        this.post(
          { type: 'piece', segno: Number(segno), offset: at, data },
          movable(data) ? [data.buffer as ArrayBuffer] : [],
        );
        this.fed = offset;
        await this.settleOne();
        if (this.done || this.nextLsn >= segEnd) break;
      }
    } finally {
      await pieces.return?.();
    }
    trace(`wal: segment ${segno} read (to ${this.fed} bytes)`);
    this.segno++;
    this.fed = 0;
  }

  private async settleOne(): Promise<void> {
    const r = await this.next();
    if (r.type === 'copied') {
      // the piece's buffer is free again
    } else if (r.type === 'ended') {
      this.ended = true;
    } else {
      throw new Error(`unexpected reply ${r.type}`);
    }
    this.done ||= r.done;
    this.nextLsn = r.nextLsn;
  }

  private post(m: WalWorkerRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  private deliver(r: WalWorkerReply): void {
    if (r.type === 'error') this.failed ??= new Error(r.message);
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w(r);
    } else this.replies.push(r);
  }

  private next(): Promise<WalWorkerReply> {
    const r = this.replies.shift();
    if (r) return r.type === 'error' ? Promise.reject(this.wrap()) : Promise.resolve(r);
    if (this.failed) return Promise.reject(this.wrap());
    return new Promise((resolve, reject) => {
      this.waiting = (x) => (x.type === 'error' ? reject(this.wrap()) : resolve(x));
    });
  }

  private wrap(): Error {
    return new OpenbarError(
      'INTERNAL',
      `reading the WAL for changed pages failed: ${this.failed?.message ?? 'the worker stopped'}`,
    );
  }
}

/** `it` with its first `next()` already called (reading started) and handed out first. */
function primed(it: AsyncIterator<Uint8Array>, first: Promise<IteratorResult<Uint8Array>>): AsyncIterator<Uint8Array> {
  let taken = false;
  return {
    next: () => {
      if (taken) return it.next();
      taken = true;
      return first;
    },
    return: async () => it.return?.() ?? { done: true, value: undefined },
  };
}
