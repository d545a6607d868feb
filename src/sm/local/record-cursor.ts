// Walks the records of a volume region in large sequential reads. Each step returns a
// record whose header checksum is good, or the offset and reason where the walk had to
// stop (a torn tail, damage, the region's end). Payload checksums are checked here too
// and reported on the record, so a scan can go past a damaged payload.

import type fsp from 'node:fs/promises';
import {
  decodeRecordHeader,
  payloadChecksum,
  RECORD_HEADER_SIZE,
  RecordKind,
  type RecordHeader,
} from './volume-format.js';

/** A record read by the cursor: its payload is valid until the cursor's next `next()`. */
export interface CursorRecord {
  readonly offset: number;
  readonly header: RecordHeader;
  /** undefined when the cursor skips data payloads (headers-only walks) */
  readonly payload: Buffer | undefined;
  readonly size: number;
  /** false when the payload does not match its checksum (the header was good, so the walk can go on) */
  readonly checksumOk: boolean;
}

export interface CursorStop {
  readonly offset: number;
  readonly error: string;
  /** true when the region simply ended short (a torn or truncated tail) */
  readonly short: boolean;
}

export class RecordCursor {
  private window = Buffer.alloc(0);
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  private pos: number;

  constructor(
    private readonly fh: fsp.FileHandle,
    start: number,
    private readonly end: number,
    private readonly opts: { chunkSize?: number; skipDataPayloads?: boolean; deferDataChecksums?: boolean } = {},
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  /** The next record, a stop, or null at the exact end of the region. */
  async next(): Promise<CursorRecord | CursorStop | null> {
    if (this.pos >= this.end) return null;
    const offset = this.pos;
    const head = await this.bytes(offset, RECORD_HEADER_SIZE);
    if (head.length < RECORD_HEADER_SIZE)
      return { offset, error: `record header cut off after ${head.length} bytes`, short: true };
    const header = decodeRecordHeader(head, 0);
    if ('error' in header) return { offset, error: header.error, short: false };
    const size = RECORD_HEADER_SIZE + header.storedLength;
    if (offset + size > this.end) {
      return { offset, error: `record of ${header.storedLength} bytes runs past the end (${this.end})`, short: true };
    }
    let payload: Buffer | undefined;
    let checksumOk = true;
    if (!(this.opts.skipDataPayloads && header.kind === RecordKind.data)) {
      payload = await this.bytes(offset + RECORD_HEADER_SIZE, header.storedLength);
      if (payload.length < header.storedLength)
        return {
          offset,
          error: `record payload cut off after ${payload.length} of ${header.storedLength} bytes`,
          short: true,
        };
      // a reader that checks data payloads on its workers defers the check to them
      checksumOk =
        (this.opts.deferDataChecksums && header.kind === RecordKind.data) ||
        payloadChecksum(payload) === header.checksum;
    }
    this.pos = offset + size;
    return { offset, header, payload, size, checksumOk };
  }

  /**
   * `n` bytes at `offset` (fewer at end of file), from the read-ahead window. The window
   * is one buffer, reused: a record's bytes are valid until the next call to `next()`
   * (fresh memory for every read costs page faults, which on a VM cost more than the copy).
   */
  private async bytes(offset: number, n: number): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    const inWindow = offset >= this.bufStart && offset + n <= this.bufStart + this.buf.length;
    if (!inWindow) {
      const chunk = this.opts.skipDataPayloads ? RECORD_HEADER_SIZE * 2 : (this.opts.chunkSize ?? 4 * 1024 * 1024);
      const want = Math.max(n, Math.min(chunk, this.end - offset));
      if (this.window.length < want) this.window = Buffer.allocUnsafeSlow(Math.max(want, this.window.length * 2));
      let got = 0;
      while (got < want) {
        const { bytesRead } = await this.fh.read(this.window, got, want - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      this.buf = this.window.subarray(0, got);
      this.bufStart = offset;
    }
    const from = offset - this.bufStart;
    return this.buf.subarray(from, Math.min(from + n, this.buf.length));
  }
}

export function isStop(r: CursorRecord | CursorStop | null): r is CursorStop {
  return r !== null && 'error' in r;
}
