// The space stream format (inside a save set), and the only module that encodes or
// decodes it. Version 1:
//
//   header : magic 'OBSPACE1', u16 version, u32 length, JSON StreamHeader
//   entry  : u8 'F', u32 length, JSON FileEntry, then the file's bytes:
//            `size` bytes for a whole file; for a page list, one 8 KiB page per entry of `pages`
//   trailer: u8 'T', u32 length, JSON StreamTrailer
//
// Directories and symlinks are entries with no bytes. Paths are relative to the space
// root and are checked never to escape it when restored.

import { fail } from '../../common/errors.js';

export const STREAM_VERSION = 1;
const MAGIC = Buffer.from('OBSPACE1', 'latin1');
const ENTRY = 0x46; // 'F'
const TRAILER = 0x54; // 'T'

export interface StreamHeader {
  readonly space: string;
  readonly server: string;
  readonly systemId: string;
  readonly level: number;
  readonly part: number;
  readonly parts: number;
  readonly startLsn: string;
  readonly pageSize: number;
  readonly created: string;
  /** levels 1 and 2: the base backup's start LSN */
  readonly baseLsn?: string;
}

export interface FileEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly mtimeMs: number;
  /** the file's length when restored */
  readonly size: number;
  /** for symlinks */
  readonly target?: string;
  /** when present, only these block numbers (relative to this file) follow, in order */
  readonly pages?: readonly number[];
  /** when present, `length` bytes for file offset `offset` follow (a range; other parts hold the rest) */
  readonly offset?: number;
  readonly length?: number;
}

export interface StreamTrailer {
  readonly files: number;
  readonly bytes: number;
  /** pages that failed their check twice while read (reported, stored as read) */
  readonly badPages: number;
}

function framed(tag: number | Buffer, body: object): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const head = typeof tag === 'number' ? Buffer.from([tag]) : tag;
  const b = Buffer.allocUnsafe(head.length + 4 + json.length);
  head.copy(b, 0);
  b.writeUInt32LE(json.length, head.length);
  json.copy(b, head.length + 4);
  return b;
}

export function encodeHeader(h: StreamHeader): Buffer {
  const tag = Buffer.alloc(10);
  MAGIC.copy(tag, 0);
  tag.writeUInt16LE(STREAM_VERSION, 8);
  return framed(tag, h);
}

/**
 * An entry frame, `total` bytes long when given (at least its natural length): the JSON is
 * padded with spaces, which JSON ignores, so the file's bytes can start where the writer
 * wants them (aligned for direct reads). Readers of every version decode it unchanged.
 */
export function encodeEntry(e: FileEntry, total?: number): Buffer {
  const natural = framed(ENTRY, e);
  if (total === undefined || total <= natural.length) return natural;
  const b = Buffer.alloc(total, 0x20);
  natural.copy(b, 0);
  b.writeUInt32LE(total - 5, 1);
  return b;
}

export function encodeTrailer(t: StreamTrailer): Buffer {
  return framed(TRAILER, t);
}

/** Number of content bytes that follow an entry in the stream. */
export function contentLength(e: FileEntry, pageSize: number): number {
  if (e.type !== 'file') return 0;
  if (e.pages) return e.pages.length * pageSize;
  return e.length ?? e.size;
}

export type StreamEvent =
  | { kind: 'header'; header: StreamHeader }
  | { kind: 'entry'; entry: FileEntry }
  | { kind: 'data'; data: Buffer; offset: number }
  | { kind: 'trailer'; trailer: StreamTrailer };

/**
 * Incremental decoder: feed it the stream's bytes in any chunking; it returns events.
 * Content is passed through as slices (`offset` counts bytes within the current file).
 */
export class SpaceStreamDecoder {
  private pending = Buffer.alloc(0);
  private state: 'header' | 'frame' | 'content' | 'done' = 'header';
  private remaining = 0;
  private fileOffset = 0;
  private pageSize = 8192;

  push(chunk: Buffer): StreamEvent[] {
    const out: StreamEvent[] = [];
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      if (this.state === 'content') {
        if (pos >= buf.length) break;
        const n = Math.min(this.remaining, buf.length - pos);
        out.push({ kind: 'data', data: buf.subarray(pos, pos + n), offset: this.fileOffset });
        this.fileOffset += n;
        this.remaining -= n;
        pos += n;
        if (this.remaining === 0) this.state = 'frame';
        continue;
      }
      if (this.state === 'done') {
        if (pos < buf.length) fail('FORMAT', 'space stream has bytes after its trailer');
        break;
      }
      const headLen = this.state === 'header' ? 10 : 1;
      if (buf.length - pos < headLen + 4) break;
      if (this.state === 'header') {
        if (!buf.subarray(pos, pos + 8).equals(MAGIC)) fail('FORMAT', 'not a space stream (bad magic)');
        const v = buf.readUInt16LE(pos + 8);
        if (v !== STREAM_VERSION) fail('FORMAT', `space stream version ${v} is not supported by this openbar`);
      }
      const tag = this.state === 'header' ? -1 : buf[pos]!;
      const len = buf.readUInt32LE(pos + headLen);
      if (len > 64 * 1024 * 1024) fail('FORMAT', 'space stream frame too long');
      if (buf.length - pos < headLen + 4 + len) break;
      let body: unknown;
      try {
        body = JSON.parse(buf.subarray(pos + headLen + 4, pos + headLen + 4 + len).toString('utf8'));
      } catch {
        fail('FORMAT', `space stream: a ${this.state === 'header' ? 'header' : 'frame'} of ${len} bytes is not valid JSON`);
      }
      pos += headLen + 4 + len;
      if (this.state === 'header') {
        const header = body as StreamHeader;
        this.pageSize = header.pageSize;
        out.push({ kind: 'header', header });
        this.state = 'frame';
      } else if (tag === ENTRY) {
        const entry = body as FileEntry;
        out.push({ kind: 'entry', entry });
        this.remaining = contentLength(entry, this.pageSize);
        this.fileOffset = 0;
        if (this.remaining > 0) this.state = 'content';
      } else if (tag === TRAILER) {
        out.push({ kind: 'trailer', trailer: body as StreamTrailer });
        this.state = 'done';
      } else {
        fail('FORMAT', `space stream: unknown frame tag ${tag}`);
      }
    }
    this.pending = pos < buf.length ? Buffer.from(buf.subarray(pos)) : Buffer.alloc(0);
    buf = Buffer.alloc(0);
    return out;
  }

  /** Call at end of input: the stream must have ended with its trailer. */
  end(): void {
    if (this.state !== 'done') fail('TRUNCATED', 'space stream ended before its trailer');
  }
}
