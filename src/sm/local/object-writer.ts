// Writes one save set: BEGIN, DATA records of up to `recordSize` raw bytes, END.
// Records are sealed (hashed, compressed) on the worker pool in place in shared transfer
// buffers while earlier ones are written: `bufferCount` buffers of `recordSize` bytes (and
// room for their compressed form) per writer, so memory stays bounded whatever the
// object's size, and no record allocates memory of its own. When a
// volume fills, the set goes on in another volume with a CONTINUE record.

import { ContentHasher } from '../../common/io/content-hash.js';
import type { Writable } from 'node:stream';
import { writerStream } from '../writer-stream.js';
import { fail } from '../../common/errors.js';
import { faultPoint } from '../../common/fault.js';
import { sealShared } from '../../common/io/codec-pool.js';
import { SlotPool, type Slot } from '../../common/io/slot-pool.js';
import { codecIds, maxStoredLength } from '../../common/io/codec-kernels.js';
import type { ObjectWriter } from '../storage-manager.js';
import type { LocalContext } from './local-context.js';
import type { LocalTransaction } from './local-transaction.js';
import type { MountedVolume } from './mounted-volume.js';
import {
  encodeControlRecord,
  encodeRecordHeader,
  RECORD_HEADER_SIZE,
  RecordKind,
  type BeginPayload,
  type ContinuePayload,
  type EndPayload,
} from './volume-format.js';

interface Part {
  index: number;
  volume: MountedVolume;
  offset: number;
  firstSeq: number;
}

export class LocalObjectWriter implements ObjectWriter {
  readonly id: number;
  bytesIn = 0;
  private storedBytes = 0;
  private seq = 0;
  /** the set's hash: over the records' digests, in order */
  private readonly hash = new ContentHasher();
  /** the transfer buffers of this writer: xfer_buf_count slots of xfer_buf_size */
  private readonly slots: SlotPool;
  private slot: Slot | undefined;
  private fill = 0;
  /** fills (pourAhead) still arriving in the current slot: it is sealed after them */
  private arriving: Promise<void>[] = [];
  private part: Part | undefined;
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;
  private state: 'open' | 'closed' | 'abandoned' = 'open';
  private readonly codec: number;
  private readonly recordSize: number;

  constructor(
    private readonly ctx: LocalContext,
    private readonly txn: LocalTransaction,
    private readonly begin: BeginPayload,
  ) {
    this.id = begin.id;
    this.codec = codecIds[begin.codec as keyof typeof codecIds] ?? codecIds.none;
    this.recordSize = ctx.write.recordSize;
    this.slots = SlotPool.borrow(
      this.recordSize,
      ctx.write.bufferCount,
      this.codec === codecIds.none ? 0 : maxStoredLength(this.recordSize),
    );
  }

  async start(): Promise<void> {
    const volume = await this.txn.mount(this.begin.pool);
    const offset = await volume.append([encodeControlRecord(RecordKind.begin, this.id, 0, this.begin.txn, this.begin)]);
    this.part = { index: 0, volume, offset, firstSeq: 0 };
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.checkWritable();
    let pos = 0;
    while (pos < chunk.byteLength) {
      this.slot ??= await this.slots.acquire();
      if (this.failure) throw this.failure;
      const n = Math.min(this.recordSize - this.fill, chunk.byteLength - pos);
      this.slot.view.set(chunk.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      if (this.fill === this.recordSize) await this.submit();
    }
  }

  async pour(fill: (space: Buffer) => Promise<number>): Promise<number> {
    this.checkWritable();
    this.slot ??= await this.slots.acquire();
    if (this.failure) throw this.failure;
    const n = await fill(this.slot.view.subarray(this.fill, this.recordSize));
    if (!Number.isInteger(n) || n < 0 || this.fill + n > this.recordSize)
      fail('INTERNAL', `pour: ${n} bytes do not fit the buffer`);
    this.fill += n;
    if (this.fill === this.recordSize) await this.submit();
    return n;
  }

  async pourAhead(fill: (space: Buffer) => { bytes: number; arrived: Promise<void> }): Promise<number> {
    this.checkWritable();
    this.slot ??= await this.slots.acquire();
    if (this.failure) throw this.failure;
    const { bytes: n, arrived } = fill(this.slot.view.subarray(this.fill, this.recordSize));
    if (!Number.isInteger(n) || n < 0 || this.fill + n > this.recordSize)
      fail('INTERNAL', `pourAhead: ${n} bytes do not fit the buffer`);
    if (n === 0) return 0;
    arrived.catch(() => {}); // observed when the buffer is sealed
    this.arriving.push(arrived);
    this.fill += n;
    if (this.fill === this.recordSize) await this.submit();
    return n;
  }

  gapToAligned(block: number): number | undefined {
    if (!this.slots.pageAligned || this.recordSize % block !== 0) return undefined;
    return (block - (this.fill % block)) % block;
  }

  async close(): Promise<void> {
    this.checkWritable();
    if (this.fill > 0) await this.submit();
    await this.tail;
    if (this.failure) throw this.failure;
    const end: EndPayload = {
      id: this.id,
      records: this.seq,
      rawBytes: this.bytesIn,
      storedBytes: this.storedBytes,
      hash: this.hash.hex(),
    };
    faultPoint('sm-before-end');
    await this.appendRecord(
      this.seq + 1,
      encodeControlRecord(RecordKind.end, this.id, this.seq + 1, this.begin.txn, end),
    );
    // one catalog commit (one fsync) for the last part's fragment and the totals
    this.ctx.catalog.inTransaction(() => {
      this.finishPart();
      this.ctx.catalog.setTotals(this.id, {
        rawBytes: end.rawBytes,
        storedBytes: end.storedBytes,
        records: end.records,
        hash: end.hash,
      });
    });
    this.state = 'closed';
    this.slots.giveBack();
    this.txn.release(this.part!.volume);
    this.txn.writerClosed(this);
  }

  /** The transaction is aborting: drop buffered data and stop. */
  abandon(): void {
    this.state = 'abandoned';
    this.failure ??= new Error('transaction aborted');
    if (this.slot) {
      this.slots.release(this.slot);
      this.slot = undefined;
    }
  }

  stream(): Writable {
    return writerStream(this, this.recordSize);
  }

  private checkWritable(): void {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') fail('USAGE', `save set ${this.id} is ${this.state}`);
  }

  /** Hands the filled slot to the seal-and-append chain; the slot is released once appended. */
  private async submit(): Promise<void> {
    const slot = this.slot!;
    const rawLength = this.fill;
    this.slot = undefined;
    this.fill = 0;
    this.bytesIn += rawLength;
    const seq = ++this.seq;
    const arriving = this.arriving;
    this.arriving = [];
    const seal = () => sealShared(this.codec, this.ctx.write.compressionLevel, slot, rawLength);
    const sealed = arriving.length === 0 ? seal() : Promise.all(arriving).then(seal);
    sealed.catch(() => {}); // observed in the chain below
    this.tail = this.tail.then(async () => {
      try {
        if (this.failure) return;
        const c = await sealed;
        this.hash.update(c.digest);
        const payload =
          c.storedLength === null ? slot.view.subarray(0, rawLength) : slot.stored.subarray(0, c.storedLength);
        const header = encodeRecordHeader({
          kind: RecordKind.data,
          codec: c.codec,
          savesetId: this.id,
          seq,
          rawLength,
          storedLength: payload.byteLength,
          checksum: c.crc,
          txn: this.begin.txn,
        });
        await this.appendRecord(seq, header, payload);
        faultPoint('sm-data-record');
        this.storedBytes += payload.byteLength;
        this.txn.progress(rawLength, this.begin.name);
      } catch (err) {
        this.failure ??= err;
      } finally {
        this.slots.release(slot);
      }
    });
    if (this.failure) throw this.failure;
  }

  /** Appends one record to the current part, moving to a new volume first if it would not fit. */
  private async appendRecord(seq: number, ...buffers: Uint8Array[]): Promise<void> {
    let size = 0;
    for (const b of buffers) size += b.byteLength;
    const part = this.part!;
    if (!part.volume.fits(size) && size > RECORD_HEADER_SIZE + 4096) await this.nextVolume(seq);
    await this.part!.volume.append(buffers);
  }

  private async nextVolume(seq: number): Promise<void> {
    const old = this.part!;
    this.finishPart();
    old.volume.full = true;
    this.txn.release(old.volume);
    const volume = await this.txn.mount(this.begin.pool);
    const body: ContinuePayload = { id: this.id, part: old.index + 1, fromSeq: seq };
    const offset = await volume.append([encodeControlRecord(RecordKind.continue, this.id, seq, this.begin.txn, body)]);
    this.part = { index: old.index + 1, volume, offset, firstSeq: seq };
  }

  private finishPart(): void {
    const p = this.part!;
    this.ctx.catalog.addFragment({
      saveset: this.id,
      part: p.index,
      volume: p.volume.id,
      offset: p.offset,
      length: p.volume.size - p.offset,
      firstSeq: p.firstSeq,
    });
  }
}
