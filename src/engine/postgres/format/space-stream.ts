// The space stream format (inside a save set), and the only module that encodes or
// decodes it. Version 1:
//
//   header : magic 'OBSPACE1', u16 version, u32 length, JSON StreamHeader
//   entry  : u8 'F', u32 length, JSON FileEntry, then the file's bytes:
//            `size` bytes for a whole file; for a page list, one 8 KiB page per entry of `pages`
//   trailer: u8 'T', u32 length, JSON StreamTrailer
//
// Directories and symlinks are entries with no bytes. The decoder trusts nothing it reads
// (a stream may come from another host): every header, entry and trailer is checked before
// it is handed on, so a restore never acts on a path that could leave its root, a link
// PostgreSQL does not have, or a size, offset or page that does not fit the file.

import { fail } from '../../../common/errors.js';
import { relativePathProblem } from '../../../common/names.js';
import { PAGE_SIZE } from './page-size.js';

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

/**
 * Where a stream may hold a symbolic link: where PostgreSQL itself has one, in pg_global
 * (a linked pg_wal, a tablespace's pg_tblspc/OID). No backup of this version writes one
 * (it stores what a link points to); a stream that holds any other link is refused.
 */
export function linkAllowed(space: string, entryPath: string): boolean {
  return space === 'pg_global' && (entryPath === 'pg_wal' || /^pg_tblspc\/[1-9]\d{0,9}$/.test(entryPath));
}

/**
 * What a restore makes of an allowed link entry, never a link to the stream's target: a
 * linked pg_wal becomes a plain directory (as the backup lists it); a tablespace link is
 * made by the restore's last step, to the tablespace's mapped or recorded location.
 */
export function restoredLinkAs(e: FileEntry): 'dir' | 'nothing' {
  return e.path === 'pg_wal' ? 'dir' : 'nothing';
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
  private pageSize = PAGE_SIZE;
  private header: StreamHeader | undefined;

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
        fail(
          'FORMAT',
          `space stream: a ${this.state === 'header' ? 'header' : 'frame'} of ${len} bytes is not valid JSON`,
        );
      }
      pos += headLen + 4 + len;
      if (this.state === 'header') {
        const header = checkHeader(body);
        this.header = header;
        this.pageSize = header.pageSize;
        out.push({ kind: 'header', header });
        this.state = 'frame';
      } else if (tag === ENTRY) {
        const entry = checkEntry(body, this.header!);
        out.push({ kind: 'entry', entry });
        this.remaining = contentLength(entry, this.pageSize);
        this.fileOffset = 0;
        if (this.remaining > 0) this.state = 'content';
      } else if (tag === TRAILER) {
        out.push({ kind: 'trailer', trailer: checkTrailer(body) });
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

// The checks of what the decoder reads. A frame that fails one stops the decoding (and
// with it the restore) before anything acts on it; the message names the path or field.

type Fields = Record<string, unknown>;

/** `where`: the frame ('header'), or the stream and the entry in it. */
function damaged(where: string, why: string): never {
  fail(
    'FORMAT',
    `space stream ${where}: ${why}`,
    'the save set is damaged or was altered: restore from another backup',
  );
}

function fields(body: unknown, where: string): Fields {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) damaged(where, 'not a JSON object');
  return body as Fields;
}

function integer(o: Fields, key: string, where: string, min: number, max?: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || (max !== undefined && v > max)) {
    damaged(
      where,
      `${key} ${JSON.stringify(v)} is not an integer ${max === undefined ? `of at least ${min}` : `from ${min} to ${max}`}`,
    );
  }
  return v;
}

function text(o: Fields, key: string, what: string, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > 256 || /[\x00-\x1f]/.test(v) || (pattern && !pattern.test(v)))
    damaged(what, `${key} ${JSON.stringify(v)?.slice(0, 80)} is not valid`);
  return v;
}

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

function checkHeader(body: unknown): StreamHeader {
  const o = fields(body, 'header');
  for (const k of ['space', 'server', 'created']) text(o, k, 'header');
  text(o, 'systemId', 'header', /^\d{1,20}$/);
  text(o, 'startLsn', 'header', LSN);
  if (o.baseLsn !== undefined) text(o, 'baseLsn', 'header', LSN);
  integer(o, 'level', 'header', 0, 2);
  integer(o, 'part', 'header', 0, integer(o, 'parts', 'header', 1, 65535) - 1);
  // PostgreSQL's block sizes: 1 to 32 KiB, a power of two
  const pageSize = integer(o, 'pageSize', 'header', 1024, 32768);
  if ((pageSize & (pageSize - 1)) !== 0) damaged('header', `pageSize ${pageSize} is not a power of two`);
  return o as unknown as StreamHeader;
}

function checkEntry(body: unknown, h: StreamHeader): FileEntry {
  const stream = `of ${h.space} level ${h.level} part ${h.part + 1}/${h.parts}`;
  const o = fields(body, `${stream}, an entry`);
  const problem = relativePathProblem(o.path);
  if (problem !== undefined) damaged(`${stream}, entry path ${JSON.stringify(o.path)?.slice(0, 300)}`, problem);
  const what = `${stream}, entry '${o.path as string}'`;
  if (o.type !== 'file' && o.type !== 'dir' && o.type !== 'symlink')
    damaged(what, `type ${JSON.stringify(o.type)} is not file, dir or symlink`);
  integer(o, 'mode', what, 0, 0o7777);
  if (typeof o.mtimeMs !== 'number' || !Number.isFinite(o.mtimeMs))
    damaged(what, `mtimeMs ${JSON.stringify(o.mtimeMs)} is not a number`);
  const size = integer(o, 'size', what, 0);
  if (o.type !== 'file') {
    if (size !== 0 || o.pages !== undefined || o.offset !== undefined || o.length !== undefined)
      damaged(what, `a ${o.type} with a size, pages or a range`);
  } else if (o.pages !== undefined) {
    if (o.offset !== undefined || o.length !== undefined) damaged(what, 'both a page list and a range');
    checkPages(o.pages, Math.floor(size / h.pageSize), what);
  } else if (o.offset !== undefined || o.length !== undefined) {
    const offset = integer(o, 'offset', what, 0, size);
    integer(o, 'length', what, 0, size - offset);
  }
  if (o.type === 'symlink') {
    if (
      typeof o.target !== 'string' ||
      o.target.length === 0 ||
      o.target.includes('\0') ||
      Buffer.byteLength(o.target) > 4095
    )
      damaged(what, 'a link with no valid target');
    if (!linkAllowed(h.space, o.path as string))
      damaged(
        what,
        "a symbolic link where PostgreSQL has none (only pg_global's pg_wal and pg_tblspc/OID may be links)",
      );
  } else if (o.target !== undefined) {
    damaged(what, `a ${o.type} with a link target`);
  }
  return o as unknown as FileEntry;
}

/** A page list: block numbers strictly ascending, each below the file's page count. */
function checkPages(pages: unknown, count: number, what: string): void {
  if (!Array.isArray(pages)) damaged(what, 'pages is not a list');
  let last = -1;
  for (const p of pages as unknown[]) {
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0)
      damaged(what, `page ${JSON.stringify(p)} is not a block number`);
    if (p <= last) damaged(what, `page ${p} follows page ${last}: the list is not strictly ascending`);
    if (p >= count) damaged(what, `page ${p} is beyond the file's ${count} page(s)`);
    last = p;
  }
}

function checkTrailer(body: unknown): StreamTrailer {
  const o = fields(body, 'trailer');
  for (const k of ['files', 'bytes', 'badPages']) integer(o, k, 'trailer', 0);
  return o as unknown as StreamTrailer;
}
