// ON-Bar's transfer buffers: a fixed set of `count` buffers, in shared memory so worker
// threads read and write them in place (no copies, no transfers, no garbage). Each has a
// raw area of `size` bytes and, when asked for, a stored area for the record's stored
// (compressed) form. Memory per stream is count × both areas, whatever the data's size.

import { allocShared, isPageAligned } from './shared-memory.js';

export interface Slot {
  readonly index: number;
  /** the raw area at 0 (page-aligned WebAssembly memory where available), then the stored area */
  readonly memory: SharedArrayBuffer;
  /** the raw area's `size` bytes as a Buffer (its first `length` bytes are the payload) */
  readonly view: Buffer;
  /** where the stored area starts in `memory` */
  readonly storedAt: number;
  /** the stored area as a Buffer (empty when the pool has none) */
  readonly stored: Buffer;
}

/** Pools given back by writers that closed, by shape: the next writer of that shape takes one. */
const idle = new Map<string, SlotPool[]>();

export class SlotPool {
  /**
   * A pool of this shape that an earlier writer gave back (its memory is already touched),
   * or a new one. Give it back once none of its slots is in use any more.
   */
  static borrow(size: number, count: number, storedSize = 0): SlotPool {
    return idle.get(`${size}/${count}/${storedSize}`)?.pop() ?? new SlotPool(size, count, storedSize);
  }

  /** For the next borrower: every slot must be back in the pool. */
  giveBack(): void {
    if (this.free.length !== this.count) return; // still in use somewhere: let it go with its owner
    const key = `${this.size}/${this.count}/${this.storedSize}`;
    const list = idle.get(key) ?? [];
    if (!list.includes(this)) list.push(this);
    idle.set(key, list);
  }

  private readonly free: Slot[] = [];
  private readonly waiters: ((s: Slot) => void)[] = [];
  /** every slot starts on a page boundary (so direct I/O can land in it) */
  readonly pageAligned: boolean;

  constructor(
    readonly size: number,
    readonly count: number,
    readonly storedSize = 0,
  ) {
    let aligned = true;
    for (let i = 0; i < count; i++) {
      const memory = allocShared(size + storedSize);
      aligned &&= isPageAligned(memory);
      this.free.push({
        index: i,
        memory,
        view: Buffer.from(memory, 0, size),
        storedAt: size,
        stored: Buffer.from(memory, size, storedSize),
      });
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
