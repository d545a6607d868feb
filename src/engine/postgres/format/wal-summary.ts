// The WAL summary format: what one WAL segment's records change, written when the segment
// is archived so that a level 1 or 2 backup need not parse archived WAL again. The only
// module that reads and writes it.
//
// A summary covers the records that END in its segment: the one running on from the
// segment before (when that segment's summary kept its first bytes, `head: 'resolved'`)
// and every record starting in the segment and ending there. The record running on into
// the next segment is kept as `tail` (its bytes, when not longer than MAX_TAIL_BYTES) for
// the next segment's summary. Each block carries the LSN of the last record that touched
// it, so a backup whose base starts in the middle of the segment takes only what changed
// after that start.
//
// Layout, little-endian: "OBWS", u32 version, u32 header length, the header as JSON
// (padded with spaces to a multiple of 8), then for each fork entry in the header's order
// its blocks (u32 × n, padded to 8 bytes) and their LSNs (f64 × n), then the tail's bytes.

import { fail } from '../../../common/errors.js';
import type { WalEvent } from '../wal/special-record.js';

export const WAL_SUMMARY_VERSION = 1;
/** A record running on into the next segment is kept whole up to this size; longer ones only by LSN. */
export const MAX_TAIL_BYTES = 1 << 20;
const MAGIC = 0x5357424f; // "OBWS"

export interface SummaryFork {
  readonly spcOid: number;
  readonly dbOid: number;
  readonly relNumber: number;
  readonly fork: number;
  /** distinct block numbers, ascending */
  readonly blocks: Uint32Array;
  /** for each block, the LSN of the last record in the segment that referenced it */
  readonly lsns: Float64Array;
}

export interface SummaryTail {
  /** where the record starts */
  readonly lsn: number;
  readonly totLen: number;
  /** its bytes within this segment; absent when longer than MAX_TAIL_BYTES */
  readonly bytes?: Uint8Array;
}

export interface WalSummary {
  readonly segno: number;
  readonly segmentSize: number;
  readonly systemId: string;
  /**
   * The record running on from the segment before: 'none' (there is none), 'resolved'
   * (completed with the bytes the summary before kept, and summarized here), 'unresolved'
   * (skipped: a reader must take it from the WAL).
   */
  readonly head: 'none' | 'resolved' | 'unresolved';
  readonly tail: SummaryTail | null;
  readonly records: number;
  readonly walBytes: number;
  readonly forks: readonly SummaryFork[];
  /** every event but 'unknown' */
  readonly events: readonly WalEvent[];
  /** the first of the unknown events; unknownCount has them all, lastUnknownLsn the last one's LSN */
  readonly unknown: readonly WalEvent[];
  readonly unknownCount: number;
  readonly lastUnknownLsn: number;
  /** when the last transaction ending in the segment ended (ms), null for none; not encoded (the client keeps it) */
  readonly lastTransactionMs?: number | null;
}

interface Header {
  v: number;
  segno: number;
  segmentSize: number;
  systemId: string;
  head: WalSummary['head'];
  tail: { lsn: number; totLen: number; bytes: number | null } | null;
  records: number;
  walBytes: number;
  forks: [number, number, number, number, number][];
  events: WalEvent[];
  unknown: WalEvent[];
  unknownCount: number;
  lastUnknownLsn: number;
}

const pad8 = (n: number) => (n + 7) & ~7;

export function encodeWalSummary(s: WalSummary): Uint8Array {
  const header: Header = {
    v: WAL_SUMMARY_VERSION,
    segno: s.segno,
    segmentSize: s.segmentSize,
    systemId: s.systemId,
    head: s.head,
    tail: s.tail ? { lsn: s.tail.lsn, totLen: s.tail.totLen, bytes: s.tail.bytes ? s.tail.bytes.length : null } : null,
    records: s.records,
    walBytes: s.walBytes,
    forks: s.forks.map((f) => [f.spcOid, f.dbOid, f.relNumber, f.fork, f.blocks.length]),
    events: [...s.events],
    unknown: [...s.unknown],
    unknownCount: s.unknownCount,
    lastUnknownLsn: s.lastUnknownLsn,
  };
  const json = Buffer.from(JSON.stringify(header));
  const hlen = pad8(json.length);
  let size = 12 + hlen;
  for (const f of s.forks) size += pad8(f.blocks.length * 4) + f.lsns.length * 8;
  size += s.tail?.bytes?.length ?? 0;
  const out = Buffer.alloc(size, 0);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(WAL_SUMMARY_VERSION, 4);
  out.writeUInt32LE(hlen, 8);
  out.fill(0x20, 12, 12 + hlen);
  json.copy(out, 12);
  let p = 12 + hlen;
  for (const f of s.forks) {
    Buffer.from(f.blocks.buffer, f.blocks.byteOffset, f.blocks.byteLength).copy(out, p);
    p += pad8(f.blocks.byteLength);
    Buffer.from(f.lsns.buffer, f.lsns.byteOffset, f.lsns.byteLength).copy(out, p);
    p += f.lsns.byteLength;
  }
  if (s.tail?.bytes) out.set(s.tail.bytes, p);
  return out;
}

/** Reads a summary; a damaged or foreign one is an error (FORMAT), never a guess. */
export function decodeWalSummary(data: Uint8Array): WalSummary {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < 12 || b.readUInt32LE(0) !== MAGIC) fail('FORMAT', 'not an openbar WAL summary');
  const v = b.readUInt32LE(4);
  if (v !== WAL_SUMMARY_VERSION)
    fail('FORMAT', `WAL summary version ${v} is not supported (this openbar reads version ${WAL_SUMMARY_VERSION})`);
  const hlen = b.readUInt32LE(8);
  if (12 + hlen > b.length) fail('FORMAT', 'WAL summary header runs past its end');
  let h: Header;
  try {
    h = JSON.parse(b.toString('utf8', 12, 12 + hlen)) as Header;
  } catch {
    fail('FORMAT', 'WAL summary header is not valid JSON');
  }
  let p = 12 + hlen;
  const take = (n: number): Uint8Array => {
    if (p + n > b.length) fail('FORMAT', 'WAL summary is shorter than its header says');
    // copied into memory of its own: aligned for the typed arrays, and free of the source buffer
    const c = new Uint8Array(n);
    c.set(b.subarray(p, p + n));
    return c;
  };
  const forks: SummaryFork[] = h.forks.map(([spcOid, dbOid, relNumber, fork, n]) => {
    const blocks = new Uint32Array(take(n * 4).buffer);
    p += pad8(n * 4);
    const lsns = new Float64Array(take(n * 8).buffer);
    p += n * 8;
    return { spcOid, dbOid, relNumber, fork, blocks, lsns };
  });
  let tail: SummaryTail | null = null;
  if (h.tail) {
    const bytes = h.tail.bytes === null ? undefined : take(h.tail.bytes);
    if (bytes) p += bytes.length;
    tail = { lsn: h.tail.lsn, totLen: h.tail.totLen, ...(bytes ? { bytes } : {}) };
  }
  if (p !== b.length) fail('FORMAT', `WAL summary has ${b.length - p} bytes more than its header says`);
  return {
    segno: h.segno,
    segmentSize: h.segmentSize,
    systemId: h.systemId,
    head: h.head,
    tail,
    records: h.records,
    walBytes: h.walBytes,
    forks,
    events: h.events,
    unknown: h.unknown,
    unknownCount: h.unknownCount,
    lastUnknownLsn: h.lastUnknownLsn,
  };
}
