// Summarizes one whole WAL segment as it is archived: every block its records reference,
// with the LSN of the last record referencing it, and the events that change files
// without block references (see format/wal-summary.ts for what a summary covers). Checks every
// record as the backup's own reader would; WAL it cannot read fully gives no summary.

import { MAX_UNKNOWN } from './block-ref-collector.js';
import type { WalFormat } from '../format/wal-format.js';
import { decodeRecord, DecodedRecord } from './wal-record.js';
import { WalRecordReader } from './wal-record-reader.js';
import { readSpecialRecord, transactionEndTime, type WalEvent } from './special-record.js';
import { MAX_TAIL_BYTES, type SummaryFork, type SummaryTail, type WalSummary } from '../format/wal-summary.js';
import { PAGE_SIZE } from '../format/page-size.js';

export interface SummarizeOptions {
  /** the segment number (from the file name) */
  readonly segno: number;
  /** the summary of the segment before, when there is one: its tail is completed here */
  readonly previous?: WalSummary;
  readonly blockSize?: number;
}

class ForkBlocks {
  readonly last = new Map<number, number>();
  constructor(
    readonly spc: number,
    readonly db: number,
    readonly rel: number,
    readonly fork: number,
  ) {}
}

/** The summary, or why the segment cannot be summarized (it then simply has none). */
export function summarizeSegment(data: Uint8Array, o: SummarizeOptions): WalSummary | string {
  const prevTail = o.previous && o.previous.segno === o.segno - 1 ? o.previous.tail : null;
  const resume = prevTail?.bytes ? { lsn: prevTail.lsn, totLen: prevTail.totLen, bytes: prevTail.bytes } : undefined;
  const blockSize = o.blockSize ?? PAGE_SIZE;
  const rec = new DecodedRecord();
  const forks = new Map<number, ForkBlocks[]>();
  const events: WalEvent[] = [];
  const unknown: WalEvent[] = [];
  let unknownCount = 0;
  let lastUnknownLsn = -1;
  let records = 0;
  let walBytes = 0;
  let lastTransactionMs: number | null = null;
  let last: ForkBlocks | undefined;
  const segSize = data.length;
  const segStart = o.segno * segSize;
  // LSNs are kept relative to this: a record summarized here starts after it (MAX_TAIL_BYTES < a segment)
  const lsnBase = segStart - segSize;
  if (resume && prevTail!.lsn + resume.bytes.length > segStart)
    return 'the kept tail of the segment before overlaps this one';
  const reader: WalRecordReader = new WalRecordReader({
    startLsn: resume?.lsn ?? segStart,
    readFrom: segStart,
    endLsn: Number.MAX_SAFE_INTEGER,
    ...(resume ? { resume } : {}),
    onRecord: (bytes, view, off, lsn) => {
      const format: WalFormat = reader.format!;
      const err = decodeRecord(bytes, view, off, lsn, format, blockSize, rec);
      if (err) return err;
      records++;
      walBytes += rec.totLen;
      for (let i = 0; i < rec.blockCount; i++) {
        const spc = rec.spcOid[i]!,
          db = rec.dbOid[i]!,
          rel = rec.relNumber[i]!,
          fork = rec.forkFlags[i]! & 0x0f;
        if (!last || last.rel !== rel || last.fork !== fork || last.db !== db || last.spc !== spc) {
          // by relation number, then the few forks (and rare namesakes) under it: no key strings
          let list = forks.get(rel);
          if (!list) forks.set(rel, (list = []));
          last = list.find((e) => e.fork === fork && e.db === db && e.spc === spc);
          if (!last) list.push((last = new ForkBlocks(spc, db, rel, fork)));
        }
        last.last.set(rec.blockNumber[i]!, lsn - lsnBase); // small integers: no number allocated per reference
      }
      const ended = transactionEndTime(rec);
      if (ended !== undefined && (lastTransactionMs === null || ended > lastTransactionMs)) lastTransactionMs = ended;
      const ev = readSpecialRecord(rec, format);
      if (typeof ev === 'string') return ev;
      if (ev?.kind === 'unknown') {
        if (unknownCount++ < MAX_UNKNOWN) unknown.push(ev);
        lastUnknownLsn = lsn;
      } else if (ev) {
        events.push(ev);
      }
      return undefined;
    },
  });
  reader.push(data, o.segno);
  if (reader.stop) return reader.stop.message;
  const partial = reader.partial();
  const tail: SummaryTail | null = partial
    ? {
        lsn: partial.lsn,
        totLen: partial.totLen,
        ...(partial.bytes.length <= MAX_TAIL_BYTES ? { bytes: partial.bytes } : {}),
      }
    : null;
  const head: WalSummary['head'] = resume ? 'resolved' : reader.skippedHead ? 'unresolved' : 'none';
  return {
    segno: o.segno,
    segmentSize: segSize,
    systemId: String(reader.systemId ?? ''),
    head,
    tail,
    records,
    walBytes,
    forks: [...forks.values()].flat().map((f) => sortFork(f, lsnBase)),
    events,
    unknown,
    unknownCount,
    lastUnknownLsn,
    lastTransactionMs,
  };
}

function sortFork(f: ForkBlocks, lsnBase: number): SummaryFork {
  const blocks = Uint32Array.from(f.last.keys()).sort();
  const lsns = new Float64Array(blocks.length);
  for (let i = 0; i < blocks.length; i++) lsns[i] = lsnBase + f.last.get(blocks[i]!)!;
  return { spcOid: f.spc, dbOid: f.db, relNumber: f.rel, fork: f.fork, blocks, lsns };
}
