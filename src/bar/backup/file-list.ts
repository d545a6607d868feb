// The files each backup holds of each space, with the size each is restored to: what a
// level 1 or 2 on that backup needs to tell a file new since it (or grown past what it
// holds) from one its pages' LSNs can speak for. The one module that encodes and decodes
// the record; what it decodes comes from storage, and is checked whole before any of it
// is believed. Paths and sizes only: it knows no engine's files.
//
// Version 1, binary, carried base64 in the label save set's content (records/label-record.ts):
//   varint version (1), varint space count, then per space:
//     varint name length, name (UTF-8), varint file count, then per file, paths ascending:
//       varint bytes shared with the previous path, varint suffix length, suffix, varint size
// Sorted paths share most of their bytes (`16384/2619_fsm` after `16384/2619`): 100,000
// files take about 0.6 MB.

import { fail } from '../../common/errors.js';
import type { BaseFiles } from '../../engine/engine.js';
import { decodeLabelContent } from '../records/label-record.js';

export const FILE_LIST_VERSION = 1;

/** One space's files as a base recorded them. */
export interface SpaceFiles extends BaseFiles {
  readonly count: number;
  /** [path, size], paths ascending */
  entries(): IterableIterator<[string, number]>;
}

/** The record of `spaces` (name → [path, size] pairs, any order). */
export function encodeFileList(spaces: ReadonlyMap<string, readonly (readonly [string, number])[]>): Buffer {
  const w = new ByteWriter();
  w.varint(FILE_LIST_VERSION);
  w.varint(spaces.size);
  for (const [name, files] of spaces) {
    const name8 = Buffer.from(name, 'utf8');
    w.text(name8, 0, name8.length);
    const sorted = files.slice().sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    let unique = 0;
    for (let i = 0; i < sorted.length; i++)
      if (i + 1 === sorted.length || sorted[i + 1]![0] !== sorted[i]![0]) unique++;
    w.varint(unique);
    // each path's bytes in one of two scratch buffers, the previous one's in the other
    let prev = Buffer.allocUnsafe(256);
    let cur = Buffer.allocUnsafe(256);
    let prevLength = 0;
    for (let i = 0; i < sorted.length; i++) {
      const [path, size] = sorted[i]!;
      if (i + 1 < sorted.length && sorted[i + 1]![0] === path) continue; // a repeated path, once
      if (cur.length < path.length * 3) cur = Buffer.allocUnsafe(path.length * 3);
      const length = cur.write(path, 0, 'utf8');
      let shared = 0;
      const most = Math.min(prevLength, length);
      while (shared < most && prev[shared] === cur[shared]) shared++;
      w.varint(shared);
      w.text(cur, shared, length);
      w.varint(size);
      const t = prev;
      prev = cur;
      cur = t;
      prevLength = length;
    }
  }
  return w.done();
}

/** Decodes and checks a record; fails (FORMAT) naming what is wrong. */
export function decodeFileList(b: Uint8Array): Map<string, SpaceFiles> {
  const r = new ByteReader(b);
  const version = r.varint('version');
  if (version !== FILE_LIST_VERSION)
    fail(
      'FORMAT',
      `file list: version ${version} is not known (this openbar reads version ${FILE_LIST_VERSION})`,
      'a newer openbar wrote it: upgrade',
    );
  const out = new Map<string, SpaceFiles>();
  for (let n = r.count('space count', 2); n > 0; n--) {
    const name = r.utf8(r.bytes(r.varint('space name length'), 'space name'), 'space name');
    if (name === '' || out.has(name)) r.bad(`space name '${name}' empty or repeated`);
    out.set(name, decodeSpace(r, name));
  }
  if (!r.atEnd()) r.bad('bytes after the last space');
  return out;
}

function decodeSpace(r: ByteReader, space: string): SpaceFiles {
  const sizes = new Map<string, number>();
  // each path is built in `bytes` over the previous one's; `high`: where its first non-ASCII byte is
  let bytes = Buffer.allocUnsafe(256);
  let length = 0;
  let high = Infinity;
  let prev = '';
  for (let n = r.count(`space ${space}: file count`, 3); n > 0; n--) {
    const shared = r.varint('shared length');
    if (shared > length) r.bad(`space ${space}: ${shared} bytes shared with a ${length}-byte path`);
    const added = r.varint('suffix length');
    if (bytes.length < shared + added) bytes = Buffer.concat([bytes.subarray(0, shared), Buffer.alloc(shared + added)]);
    const firstHigh = r.copyInto(bytes, shared, added, 'path');
    high = high < shared ? high : firstHigh < 0 ? Infinity : shared + firstHigh;
    length = shared + added;
    const path = high === Infinity ? bytes.toString('latin1', 0, length) : r.utf8(bytes.subarray(0, length), 'path');
    if (!(path > prev) || NOT_RELATIVE.test(path))
      r.bad(`space ${space}: path '${path}' out of order, repeated, or not a relative path`);
    sizes.set(path, r.varint('size'));
    prev = path;
  }
  return { count: sizes.size, sizeOf: (p) => sizes.get(p), entries: () => sizes.entries() };
}

/** Not a path relative to its space: empty, absolute, a NUL, an empty, `.` or `..` step. */
const NOT_RELATIVE = /^$|^\/|\/$|\/\/|\0|(^|\/)\.\.?(\/|$)/;

/**
 * The record in a label save set's content (records/label-record.ts carries it), decoded;
 * undefined when the label carries none (an older openbar wrote it). `id`: the save set.
 */
export function fileListOfLabel(content: Buffer, id?: number): Map<string, SpaceFiles> | undefined {
  const list = decodeLabelContent(content, id).fileList;
  return list === undefined ? undefined : decodeFileList(list);
}

class ByteWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private at = 0;

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) fail('INTERNAL', `file list: ${v} is not a size`);
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.at++] = v;
  }

  /** bytes [from, to) of `b`, after their length */
  text(b: Buffer, from: number, to: number): void {
    this.varint(to - from);
    this.room(to - from);
    for (let i = from; i < to; i++) this.buf[this.at++] = b[i]!;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
}

class ByteReader {
  private at = 0;
  private readonly utf = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly b: Uint8Array) {}

  bad(what: string): never {
    fail('FORMAT', `file list: ${what} (at byte ${this.at} of ${this.b.length})`);
  }

  varint(what: string): number {
    let v = 0;
    for (let scale = 1, i = 0; ; scale *= 0x80, i++) {
      if (this.at >= this.b.length) this.bad(`${what} cut short`);
      if (i === 8) this.bad(`${what} too long`);
      const x = this.b[this.at++]!;
      v += (x & 0x7f) * scale;
      if (x < 0x80) break;
    }
    if (!Number.isSafeInteger(v)) this.bad(`${what} out of range`);
    return v;
  }

  /** a count of items each at least `minBytes` long: no more than the bytes left could hold */
  count(what: string, minBytes: number): number {
    const n = this.varint(what);
    if (n * minBytes > this.b.length - this.at) this.bad(`${what} ${n} exceeds what the record holds`);
    return n;
  }

  /** Copies the next `n` bytes into `to` at `at`; the index among them of the first non-ASCII byte, or -1. */
  copyInto(to: Buffer, at: number, n: number, what: string): number {
    if (n > this.b.length - this.at) this.bad(`${what} cut short`);
    let high = -1;
    for (let i = 0; i < n; i++) {
      const x = this.b[this.at + i]!;
      to[at + i] = x;
      if (x >= 0x80 && high < 0) high = i;
    }
    this.at += n;
    return high;
  }

  bytes(n: number, what: string): Uint8Array {
    if (n > this.b.length - this.at) this.bad(`${what} cut short`);
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** `b` as text, checked to be UTF-8 */
  utf8(b: Uint8Array, what: string): string {
    try {
      return this.utf.decode(b);
    } catch {
      this.bad(`${what} is not UTF-8`);
    }
  }

  atEnd(): boolean {
    return this.at === this.b.length;
  }
}
