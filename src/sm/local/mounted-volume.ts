// A volume mounted for appending by one transaction. Appends go strictly to the end;
// `committedSize` is where the volume stood when mounted, so an abort can cut back to it.
// Every FLUSH_BYTES appended, a datasync starts in the background: the data goes to disk
// while the transaction goes on, and the commit's fsync finds little left to write.

import type fsp from 'node:fs/promises';
import type { VolumeRow } from './catalog.js';
import { LABEL_SIZE } from './volume-format.js';

const FLUSH_BYTES = 32 * 1024 * 1024;

export class MountedVolume {
  size: number;
  /** set when the next record would pass the pool's volume size; closed at commit */
  full = false;
  /** an object writer is appending to it now */
  busy = false;
  /** bytes this transaction appended, so a commit with nothing new leaves the volume as it was */
  appended = 0;
  private unflushed = 0;
  private flushing: Promise<void> = Promise.resolve();
  private flushError: unknown;

  constructor(
    readonly row: VolumeRow,
    readonly fh: fsp.FileHandle,
    readonly committedSize: number,
    readonly maxSize: number,
  ) {
    this.size = committedSize;
  }

  get label(): string {
    return this.row.label;
  }
  get id(): number {
    return this.row.id;
  }

  /** Whether a record of `bytes` still fits (a volume always takes at least one record). */
  fits(bytes: number): boolean {
    return this.size <= LABEL_SIZE || this.size + bytes <= this.maxSize;
  }

  /** Appends the buffers at the end; returns the offset they were written at. */
  async append(buffers: readonly Uint8Array[]): Promise<number> {
    const offset = this.size;
    let total = 0;
    for (const b of buffers) total += b.byteLength;
    this.size += total;
    this.appended += total;
    let written = 0;
    while (written < total) {
      const { bytesWritten } = await this.fh.writev(sliceFrom(buffers, written), offset + written);
      if (bytesWritten <= 0) throw new Error(`short write to volume ${this.label}`);
      written += bytesWritten;
    }
    this.unflushed += total;
    if (this.unflushed >= FLUSH_BYTES) {
      this.unflushed = 0;
      // one at a time; an error is kept for sync(), which must not report success after it
      this.flushing = this.flushing
        .then(() => this.fh.datasync())
        .catch((err: unknown) => {
          this.flushError ??= err;
        });
    }
    return offset;
  }

  /** Makes everything appended durable: waits for a background flush, then fsync. */
  async sync(): Promise<void> {
    await this.flushing;
    if (this.flushError) throw this.flushError;
    await this.fh.sync();
  }
}

function sliceFrom(buffers: readonly Uint8Array[], skip: number): Uint8Array[] {
  if (skip === 0) return buffers as Uint8Array[];
  const out: Uint8Array[] = [];
  for (const b of buffers) {
    if (skip >= b.byteLength) {
      skip -= b.byteLength;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
