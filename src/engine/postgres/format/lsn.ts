// PostgreSQL log sequence numbers and WAL file names. An LSN is a 64-bit byte
// position in the WAL, written `X/Y` in hexadecimal; a segment file name is the
// timeline, then the segment number split into "log" and "seg" parts (8 hex digits
// each). A .partial or .backup file is named after its segment, a .history file after
// its timeline.

export type Lsn = bigint;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw Object.assign(new Error(`'${text}' is not an LSN (like 0/16B3748)`), { code: 'USAGE' });
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

const hex8 = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');

export function segmentOf(lsn: Lsn, segmentSize: number): bigint {
  return lsn / BigInt(segmentSize);
}

export function walFileName(timeline: number, segno: bigint, segmentSize: number): string {
  const perLog = 0x100000000n / BigInt(segmentSize);
  return `${hex8(timeline)}${hex8(segno / perLog)}${hex8(segno % perLog)}`;
}

export function parseWalFileName(name: string, segmentSize: number): { timeline: number; segno: bigint } | undefined {
  const m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/.exec(name);
  if (!m) return undefined;
  const perLog = 0x100000000n / BigInt(segmentSize);
  return { timeline: parseInt(m[1]!, 16), segno: BigInt(`0x${m[2]}`) * perLog + BigInt(`0x${m[3]}`) };
}

/** Segment file names from the one holding `from` to the one holding `to`, on one timeline. */
export function walFilesBetween(timeline: number, from: Lsn, to: Lsn, segmentSize: number): string[] {
  const out: string[] = [];
  for (let s = segmentOf(from, segmentSize); s <= segmentOf(to, segmentSize); s++)
    out.push(walFileName(timeline, s, segmentSize));
  return out;
}

/** What kind of file the archiver hands over. */
export function walFileKind(name: string): 'segment' | 'history' | 'backup' | 'partial' | undefined {
  if (/^[0-9A-F]{24}$/.test(name)) return 'segment';
  if (/^[0-9A-F]{8}\.history$/.test(name)) return 'history';
  if (/^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/.test(name)) return 'backup';
  if (/^[0-9A-F]{24}\.partial$/.test(name)) return 'partial';
  return undefined;
}

/** The timeline a WAL file's name starts with (a segment, .partial, .backup or .history file). */
export function walFileTimeline(name: string): number {
  return parseInt(name.slice(0, 8), 16);
}

/** Where a segment (or a file named after one) sits in its timeline: the log and seg parts, fixed-width hex that sorts as text. */
export function walFilePosition(name: string): string {
  return name.slice(8, 24);
}

/** The segment a .partial or .backup file is named after (a segment's own name for a segment). */
export function walSegmentName(name: string): string {
  return name.slice(0, 24);
}
