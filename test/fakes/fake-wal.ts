// The fake cluster's WAL: positions, file names, segment content, history files, the
// archive's gate and its timelines. Not PostgreSQL's WAL format: a segment is one JSON
// line of records, zero-padded to the segment size. What is PostgreSQL's is what the
// client sees at the interface and checks for itself today: LSNs as `X/Y`, file names
// of 24 hex digits (timeline, log, segment), `N.history` files, a segment size of at
// least 1 MiB (bar/log/archive-wal.ts and bar/restore/label-meta.ts read those forms).

import type { WalFileCheck, WalFileExpectations, WalFileVerdict, WalTimelines } from '../../src/engine/engine.js';

export const SEGMENT_SIZE = 1 << 20;
const MAGIC = 'FAKEWAL1 ';

// ---- positions and names ------------------------------------------------------

export function formatLsn(n: number): string {
  return `${Math.floor(n / 2 ** 32)
    .toString(16)
    .toUpperCase()}/${(n % 2 ** 32).toString(16).toUpperCase()}`;
}

export function parseLsn(text: string): number {
  const m = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(text);
  if (!m) throw Object.assign(new Error(`'${text}' is not an LSN`), { code: 'USAGE' });
  return parseInt(m[1]!, 16) * 2 ** 32 + parseInt(m[2]!, 16);
}

export const compareLsn = (a: string, b: string): number => Math.sign(parseLsn(a) - parseLsn(b));

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
const perLog = (size: number) => 2 ** 32 / size;

export function segmentName(timeline: number, segno: number, size = SEGMENT_SIZE): string {
  return `${hex8(timeline)}${hex8(Math.floor(segno / perLog(size)))}${hex8(segno % perLog(size))}`;
}

export function parseSegmentName(name: string, size = SEGMENT_SIZE): { timeline: number; segno: number } | undefined {
  const m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/.exec(name);
  return m
    ? { timeline: parseInt(m[1]!, 16), segno: parseInt(m[2]!, 16) * perLog(size) + parseInt(m[3]!, 16) }
    : undefined;
}

export const segnoOf = (lsn: number, size = SEGMENT_SIZE): number => Math.floor(lsn / size);

export function walFileKind(name: string): 'segment' | 'history' | 'backup' | 'partial' | undefined {
  if (/^[0-9A-F]{24}$/.test(name)) return 'segment';
  if (/^[0-9A-F]{8}\.history$/.test(name)) return 'history';
  if (/^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/.test(name)) return 'backup';
  if (/^[0-9A-F]{24}\.partial$/.test(name)) return 'partial';
  return undefined;
}

export function walPosition(
  name: string,
): { kind: 'segment' | 'history' | 'backup' | 'partial'; position: string | null; timeline: number } | undefined {
  const kind = walFileKind(name);
  return kind
    ? { kind, position: kind === 'history' ? null : name.slice(8, 24), timeline: parseInt(name.slice(0, 8), 16) }
    : undefined;
}

export function nextWal(name: string, size: number): string {
  const w = parseSegmentName(name, size);
  if (!w) throw Object.assign(new Error(`'${name}' is not a WAL file name`), { code: 'FORMAT' });
  return segmentName(w.timeline, w.segno + 1, size);
}

// ---- records and segments ---------------------------------------------------------

export type WalRecord =
  | {
      readonly lsn: number;
      readonly kind: 'page';
      readonly space: string;
      readonly path: string;
      readonly block: number;
      readonly xid: number;
    }
  | { readonly lsn: number; readonly kind: 'commit'; readonly xid: number; readonly time: number }
  | { readonly lsn: number; readonly kind: 'checkpoint' | 'backup-end' | 'switch' }
  | { readonly lsn: number; readonly kind: 'restore-point'; readonly name: string };

/** Bytes of WAL each record takes: its LSN is where it starts. */
export const RECORD_BYTES = 64;

export interface SegmentHeader {
  readonly systemId: string;
  readonly timeline: number;
  readonly segno: number;
  readonly records: readonly WalRecord[];
}

export function encodeSegment(h: SegmentHeader, size = SEGMENT_SIZE): Buffer {
  const text = Buffer.from(`${MAGIC}${JSON.stringify(h)}\n`, 'utf8');
  if (text.length > size) throw new Error(`fake WAL: segment ${h.segno} holds more records than fit`);
  const out = Buffer.alloc(size);
  text.copy(out);
  return out;
}

export function decodeSegment(data: Uint8Array): SegmentHeader | string {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return 'has no fake WAL header';
  const end = b.indexOf(10);
  if (end < 0) return 'has a header cut short';
  try {
    return JSON.parse(b.subarray(MAGIC.length, end).toString('utf8')) as SegmentHeader;
  } catch {
    return 'has a header that is not JSON';
  }
}

// ---- history files ------------------------------------------------------------

/** A history file's text: one line per ancestor, `parentTLI<TAB>switchLSN<TAB>reason`, as PostgreSQL writes it. */
export function encodeHistory(ancestors: readonly { timeline: number; end: number }[]): Buffer {
  return Buffer.from(
    ancestors.map((a) => `${a.timeline}\t${formatLsn(a.end)}\tno recovery target specified\n`).join(''),
    'utf8',
  );
}

function decodeHistory(content: Uint8Array): { timeline: number; end: number }[] | string {
  const out: { timeline: number; end: number }[] = [];
  for (const line of Buffer.from(content).toString('utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [tli, lsn] = line.split('\t');
    if (!/^\d+$/.test(tli ?? '') || lsn === undefined) return `has a bad line '${line}'`;
    try {
      out.push({ timeline: Number(tli), end: parseLsn(lsn) });
    } catch {
      return `has a bad switch point '${lsn}'`;
    }
  }
  return out;
}

// ---- the archive's gate -----------------------------------------------------------

/** The gate: a segment whole, of its name's timeline and segment, of the expected system; a history file that parses. */
export function fakeWalFileCheck(name: string, expect: WalFileExpectations, size = SEGMENT_SIZE): WalFileCheck {
  const parts: Buffer[] = [];
  return {
    push: (chunk) => {
      parts.push(Buffer.from(chunk));
    },
    end: (): WalFileVerdict => verdictOf(name, Buffer.concat(parts), expect, expect.segmentSize ?? size),
  };
}

function verdictOf(name: string, data: Buffer, expect: WalFileExpectations, size: number): WalFileVerdict {
  const kind = walFileKind(name);
  const timeline = parseInt(name.slice(0, 8), 16);
  if (kind === 'history') {
    const h = decodeHistory(data);
    return typeof h === 'string' ? { ok: false, problem: h } : { ok: true, timeline };
  }
  if (kind !== 'segment') return { ok: true, timeline };
  if (data.length !== size) return { ok: false, problem: `is ${data.length} bytes, not a whole segment of ${size}` };
  const h = decodeSegment(data);
  if (typeof h === 'string') return { ok: false, problem: h };
  if (expect.systemId !== undefined && h.systemId !== expect.systemId) {
    return { ok: false, problem: `is of database system ${h.systemId}, not ${expect.systemId}`, foreign: true };
  }
  const named = parseSegmentName(name, size)!;
  if (h.timeline !== named.timeline || h.segno !== named.segno)
    return { ok: false, problem: `holds segment ${h.segno} of timeline ${h.timeline}` };
  return { ok: true, systemId: h.systemId, segmentSize: size, timeline };
}

// ---- timelines ------------------------------------------------------------------

/** Per timeline, its path: each ancestor to its switch point, then itself without end. */
export function fakeTimelines(
  histories: ReadonlyMap<string, Uint8Array>,
  size: number,
): { timelines: WalTimelines; problems: string[] } {
  const problems: string[] = [];
  const paths = new Map<number, { timeline: number; end: number }[]>([[1, [{ timeline: 1, end: Infinity }]]]);
  for (const [name, content] of histories) {
    const tli = walFileKind(name) === 'history' ? parseInt(name.slice(0, 8), 16) : undefined;
    const h = tli === undefined ? 'is not a history file name' : decodeHistory(content);
    if (typeof h === 'string') problems.push(`timeline history ${name} ${h}`);
    else paths.set(tli!, [...h, { timeline: tli!, end: Infinity }]);
  }
  const pathOf = (t: number) => paths.get(t) ?? [{ timeline: t, end: Infinity }];
  const begin = (p: readonly { end: number }[], i: number) => (i === 0 ? 0 : p[i - 1]!.end);
  // the timeline a segment is read from: the newest on the path begun at or before it
  const entryFor = (t: number, segno: number) => {
    const p = pathOf(t);
    let at = 0;
    for (let i = 0; i < p.length; i++) if (segnoOf(begin(p, i), size) <= segno) at = i;
    return p[at]!;
  };
  const timelines: WalTimelines = {
    timelines: [...paths.keys()].sort((a, b) => a - b),
    holds: (t, on, from, to) =>
      pathOf(t).some((e, i, p) => e.timeline === on && begin(p, i) <= parseLsn(from) && parseLsn(to) <= e.end),
    timelineAt: (t, lsn) =>
      pathOf(t).find((e, i, p) => begin(p, i) <= parseLsn(lsn) && parseLsn(lsn) < e.end)?.timeline,
    onPath: (t, name) => {
      const w = parseSegmentName(name, size);
      return w !== undefined && entryFor(t, w.segno).timeline === w.timeline;
    },
    *files(t, fromLsn) {
      for (let s = segnoOf(parseLsn(fromLsn), size); ; s++) {
        yield {
          name: segmentName(entryFor(t, s).timeline, s, size),
          start: formatLsn(s * size),
          end: formatLsn((s + 1) * size),
        };
      }
    },
  };
  return { timelines, problems };
}
