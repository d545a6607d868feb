// Writes one save set of the in-memory storage manager: bytes gather in transfer buffers
// of `recordSize`, each full buffer is sealed into a DATA record (copied, its CRC taken,
// its digest added to the set's hash), and close() writes the END. As the local writer
// does, it holds at most `bufferCount` transfer buffers: a pourAhead whose fills have not
// arrived holds its buffer, and the next one waits for a free buffer (backpressure). A
// fill that fails fails the object; nothing of an unclosed object is ever visible.

import type { Writable } from 'node:stream';
import { writerStream } from '../writer-stream.js';
import { fail } from '../../common/errors.js';
import { ContentHasher, digestOf } from '../../common/io/content-hash.js';
import type { ObjectWriter } from '../storage-manager.js';
import { MemoryMedia, type MemorySaveSet } from './memory-media.js';

export interface WriterHost {
  writerClosed(w: MemoryObjectWriter): void;
}

interface Slot {
  readonly buf: Buffer;
  fill: number;
  arriving: Promise<void>[];
}

export class MemoryObjectWriter implements ObjectWriter {
  readonly id: number;
  bytesIn = 0;
  private readonly hash = new ContentHasher();
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private readonly waiting: ((b: Buffer) => void)[] = [];
  private slot: Slot | undefined;
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;
  private state: 'open' | 'closed' | 'abandoned' = 'open';

  constructor(
    private readonly host: WriterHost,
    private readonly set: MemorySaveSet,
    private readonly recordSize: number,
    private readonly bufferCount: number,
  ) {
    this.id = set.id;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.checkWritable();
    for (let pos = 0; pos < chunk.byteLength;) {
      const slot = await this.current();
      const n = Math.min(this.recordSize - slot.fill, chunk.byteLength - pos);
      slot.buf.set(chunk.subarray(pos, pos + n), slot.fill);
      slot.fill += n;
      pos += n;
      if (slot.fill === this.recordSize) this.submit();
    }
  }

  async pour(fill: (space: Buffer) => Promise<number>): Promise<number> {
    this.checkWritable();
    const slot = await this.current();
    const n = await fill(slot.buf.subarray(slot.fill, this.recordSize));
    this.accept(slot, n, 'pour');
    return n;
  }

  async pourAhead(fill: (space: Buffer) => { bytes: number; arrived: Promise<void> }): Promise<number> {
    this.checkWritable();
    const slot = await this.current();
    const { bytes: n, arrived } = fill(slot.buf.subarray(slot.fill, this.recordSize));
    if (n === 0) {
      this.accept(slot, 0, 'pourAhead');
      return 0;
    }
    arrived.catch(() => {}); // observed when the buffer is sealed
    slot.arriving.push(arrived);
    this.accept(slot, n, 'pourAhead');
    return n;
  }

  /** its buffers are ordinary heap memory: no direct read lands in them */
  gapToAligned(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    this.checkWritable();
    if (this.slot && this.slot.fill > 0) this.submit();
    await this.tail;
    if (this.failure) throw this.failure;
    this.set.end = { records: this.set.records.length, rawBytes: this.bytesIn, hash: this.hash.hex() };
    this.state = 'closed';
    this.host.writerClosed(this);
  }

  /** The transaction is aborting: buffered data is dropped and every later call fails. */
  abandon(): void {
    this.state = 'abandoned';
    this.failure ??= Object.assign(new Error(`save set ${this.id}: transaction aborted`), { code: 'ABORTED' });
    this.slot = undefined;
  }

  stream(): Writable {
    return writerStream(this, this.recordSize);
  }

  private checkWritable(): void {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') fail('USAGE', `save set ${this.id} is ${this.state}`);
  }

  private accept(slot: Slot, n: number, what: string): void {
    if (!Number.isInteger(n) || n < 0 || slot.fill + n > this.recordSize)
      fail('INTERNAL', `${what}: ${n} bytes do not fit the buffer`);
    slot.fill += n;
    if (slot.fill === this.recordSize) this.submit();
  }

  /** The buffer being filled, or a free one (waiting until a sealed one is given back). */
  private async current(): Promise<Slot> {
    if (!this.slot) {
      const buf = await this.acquire();
      if (this.failure) {
        this.release(buf);
        throw this.failure;
      }
      this.slot = { buf, fill: 0, arriving: [] };
    }
    return this.slot;
  }

  private acquire(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    if (this.allocated < this.bufferCount) {
      this.allocated++;
      return Promise.resolve(Buffer.alloc(this.recordSize));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(buf: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buf);
    else this.free.push(buf);
  }

  /** Seals the current buffer into the next record once its fills have arrived, in order. */
  private submit(): void {
    const slot = this.slot!;
    this.slot = undefined;
    this.bytesIn += slot.fill;
    const arrived = Promise.all(slot.arriving);
    arrived.catch(() => {}); // observed in the chain below
    this.tail = this.tail.then(async () => {
      try {
        await arrived;
        if (this.failure) return;
        const bytes = Buffer.from(slot.buf.subarray(0, slot.fill));
        this.hash.update(digestOf(bytes));
        this.set.records.push(MemoryMedia.record(this.set.records.length + 1, bytes));
      } catch (err) {
        this.failure ??= err;
      } finally {
        this.release(slot.buf);
      }
    });
  }
}
