// ON-Bar's transfer buffers: a fixed set of `count` buffers of `size` bytes, in shared
// memory so worker threads read and write them in place (no copies, no transfers, no
// garbage). Memory per stream is exactly size × count, whatever the data's size.

import { allocShared, isPageAligned } from './shared-memory.js';

export interface Slot {
  readonly index: number;
  /** at least `size` bytes, page-aligned WebAssembly memory where available */
  readonly memory: SharedArrayBuffer;
  /** the slot's `size` bytes as a Buffer (its first `length` bytes are the payload) */
  readonly view: Buffer;
}

export class SlotPool {
  private readonly free: Slot[] = [];
  private readonly waiters: ((s: Slot) => void)[] = [];
  /** every slot starts on a page boundary (so direct I/O can land in it) */
  readonly pageAligned: boolean;

  constructor(readonly size: number, readonly count: number) {
    let aligned = true;
    for (let i = 0; i < count; i++) {
      const memory = allocShared(size);
      aligned &&= isPageAligned(memory);
      this.free.push({ index: i, memory, view: Buffer.from(memory, 0, size) });
    }
    this.pageAligned = aligned;
  }

  /** A free slot; waits while all are in use (the backpressure of a stream). */
  acquire(): Promise<Slot> {
    const s = this.free.pop();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(s: Slot): void {
    const w = this.waiters.shift();
    if (w) w(s);
    else this.free.push(s);
  }
}
