// The fake engine's space stream: what its copySpace writes into a save set and its
// restore and archive checker read back. Its own small format, not the PostgreSQL
// engine's: a magic, a JSON header, then per file a JSON entry (path, size, the pages
// it carries) followed by those pages, then a trailer. Each piece is framed by a u32
// length. Read back, it is checked before it names a path (safeJoin does that).

import { fail } from '../../src/common/errors.js';

export const PAGE = 8192;
const MAGIC = Buffer.from('FAKESPC1', 'latin1');
const TRAILER = 0xffffffff;

export interface StreamHeader {
  readonly space: string;
  readonly level: number;
  readonly part: number;
  readonly parts: number;
  readonly startLsn: string;
}
/** One file of a stream: its size as restored, and the pages (block numbers) it carries, ascending. */
export interface StreamEntry {
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly pages: readonly number[];
}

export class SpaceStreamWriter {
  private readonly out: Buffer[] = [MAGIC];
  private files = 0;

  constructor(header: StreamHeader) {
    this.frame(header);
  }

  file(entry: StreamEntry, pageBytes: (block: number) => Buffer): number {
    this.frame(entry);
    let bytes = 0;
    for (const b of entry.pages) {
      const p = pageBytes(b);
      this.out.push(p);
      bytes += p.length;
    }
    this.files++;
    return bytes;
  }

  end(): Buffer {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(TRAILER);
    this.out.push(len, Buffer.from(JSON.stringify({ files: this.files })));
    return Buffer.concat(this.out);
  }

  private frame(v: unknown): void {
    const body = Buffer.from(JSON.stringify(v), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    this.out.push(len, body);
  }
}

export interface ParsedStream {
  readonly header: StreamHeader;
  /** each file with its pages' bytes, by block number */
  readonly files: readonly { entry: StreamEntry; pages: Map<number, Buffer> }[];
  readonly bytes: number;
}

/** Reads a whole stream (chunks are copied as they come: they may be lent). */
export async function readSpaceStream(stream: AsyncIterable<Buffer>): Promise<ParsedStream> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return parseSpaceStream(Buffer.concat(parts));
}

export function parseSpaceStream(b: Buffer): ParsedStream {
  const bad = (what: string): never => fail('FORMAT', `fake space stream: ${what}`);
  if (!b.subarray(0, MAGIC.length).equals(MAGIC)) bad('no magic');
  let at = MAGIC.length;
  const frame = (): unknown => {
    if (at + 4 > b.length) bad('cut short');
    const n = b.readUInt32BE(at);
    at += 4;
    if (n === TRAILER) return undefined;
    if (at + n > b.length) bad('cut short');
    const v = JSON.parse(b.subarray(at, at + n).toString('utf8')) as unknown;
    at += n;
    return v;
  };
  const header = frame() as StreamHeader;
  const files: { entry: StreamEntry; pages: Map<number, Buffer> }[] = [];
  for (let e = frame() as StreamEntry | undefined; e !== undefined; e = frame() as StreamEntry | undefined) {
    const pages = new Map<number, Buffer>();
    for (const block of e.pages) {
      const n = Math.min(PAGE, e.size - block * PAGE);
      if (n <= 0 || at + n > b.length) bad(`file ${e.path}: page ${block} cut short or past its size`);
      pages.set(block, b.subarray(at, at + n));
      at += n;
    }
    files.push({ entry: e, pages });
  }
  return { header, files, bytes: b.length };
}
