// A volume mounted for appending by one transaction. Appends go strictly to the end;
// `committedSize` is where the volume stood when mounted, so an abort can cut back to it.

import type fsp from 'node:fs/promises';
import type { VolumeRow } from './catalog.js';
import { LABEL_SIZE } from './volume-format.js';

export class MountedVolume {
  size: number;
  /** set when the next record would pass the pool's volume size; closed at commit */
  full = false;
  /** an object writer is appending to it now */
  busy = false;
  /** bytes this transaction appended, so a commit with nothing new leaves the volume as it was */
  appended = 0;

  constructor(
    readonly row: VolumeRow,
    readonly fh: fsp.FileHandle,
    readonly committedSize: number,
    readonly maxSize: number,
  ) {
    this.size = committedSize;
  }

  get label(): string { return this.row.label; }
  get id(): number { return this.row.id; }

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
    return offset;
  }
}

function sliceFrom(buffers: readonly Uint8Array[], skip: number): Uint8Array[] {
  if (skip === 0) return buffers as Uint8Array[];
  const out: Uint8Array[] = [];
  for (const b of buffers) {
    if (skip >= b.byteLength) { skip -= b.byteLength; continue; }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}
