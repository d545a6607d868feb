// Writes one save set: BEGIN, DATA records of up to `recordSize` raw bytes, END.
// Records are compressed on the codec pool while earlier ones are written, at most
// `bufferCount` in flight, so memory stays bounded whatever the object's size. When a
// volume fills, the set goes on in another volume with a CONTINUE record.

import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { fail } from '../../common/errors.js';
import { faultPoint } from '../../common/fault.js';
import { seal } from '../../common/io/codec-pool.js';
import { codecIds } from '../../common/io/codec-kernels.js';
import type { ObjectWriter } from '../storage-manager.js';
import type { LocalContext } from './local-context.js';
import type { LocalTransaction } from './local-transaction.js';
import type { MountedVolume } from './mounted-volume.js';
import {
  encodeControlRecord, encodeRecordHeader, RECORD_HEADER_SIZE, RecordKind,
  type BeginPayload, type ContinuePayload, type EndPayload,
} from './volume-format.js';

interface Part { index: number; volume: MountedVolume; offset: number; firstSeq: number }

export class LocalObjectWriter implements ObjectWriter {
  readonly id: number;
  bytesIn = 0;
  private storedBytes = 0;
  private seq = 0;
  /** the set's hash: SHA-256 over the records' SHA-256 digests, in order */
  private readonly hash = createHash('sha256');
  private buf: Buffer;
  private fill = 0;
  private part: Part | undefined;
  private tail: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private failure: unknown;
  private state: 'open' | 'closed' | 'abandoned' = 'open';
  private readonly codec: number;
  private readonly recordSize: number;

  constructor(private readonly ctx: LocalContext, private readonly txn: LocalTransaction, private readonly begin: BeginPayload) {
    this.id = begin.id;
    this.codec = codecIds[begin.codec as keyof typeof codecIds] ?? codecIds.none;
    this.recordSize = ctx.write.recordSize;
    this.buf = Buffer.allocUnsafeSlow(this.recordSize);
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
      const n = Math.min(this.recordSize - this.fill, chunk.byteLength - pos);
      this.buf.set(chunk.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      if (this.fill === this.recordSize) await this.submit();
    }
  }

  async close(): Promise<void> {
    this.checkWritable();
    if (this.fill > 0) await this.submit();
    await this.tail;
    if (this.failure) throw this.failure;
    const end: EndPayload = {
      id: this.id, records: this.seq, rawBytes: this.bytesIn, storedBytes: this.storedBytes, sha256: this.hash.digest('hex'),
    };
    faultPoint('sm-before-end');
    await this.appendRecord(this.seq + 1, encodeControlRecord(RecordKind.end, this.id, this.seq + 1, this.begin.txn, end));
    this.finishPart();
    this.ctx.catalog.setTotals(this.id, { rawBytes: end.rawBytes, storedBytes: end.storedBytes, records: end.records, sha256: end.sha256 });
    this.state = 'closed';
    this.txn.release(this.part!.volume);
    this.txn.writerClosed(this);
  }

  /** The transaction is aborting: drop buffered data and stop. */
  abandon(): void {
    this.state = 'abandoned';
    this.failure ??= new Error('transaction aborted');
    this.wake();
  }

  stream(): Writable {
    return new Writable({
      highWaterMark: this.recordSize,
      write: (chunk: Buffer, _enc, cb) => { this.write(chunk).then(() => cb(), cb); },
      final: (cb) => { this.close().then(() => cb(), cb); },
    });
  }

  private checkWritable(): void {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') fail('USAGE', `save set ${this.id} is ${this.state}`);
  }

  /** Hands the full buffer to the compress-and-append chain, waiting while too many are in flight. */
  private async submit(): Promise<void> {
    // a full record hands over its own buffer (moved to a codec worker); a short one a copy
    const raw = this.fill === this.recordSize ? this.buf : Buffer.from(this.buf.subarray(0, this.fill));
    const rawLength = raw.byteLength;
    this.buf = Buffer.allocUnsafeSlow(this.recordSize);
    this.fill = 0;
    this.bytesIn += rawLength;
    const seq = ++this.seq;
    const level = this.ctx.write.compressionLevel;
    const sealed = seal(this.codec, level, raw);
    sealed.catch(() => {}); // observed in the chain below
    this.inFlight++;
    this.tail = this.tail.then(async () => {
      try {
        if (this.failure) return;
        const c = await sealed;
        this.hash.update(c.digest);
        const header = encodeRecordHeader({
          kind: RecordKind.data, codec: c.codec, savesetId: this.id, seq, rawLength,
          storedLength: c.data.byteLength, checksum: c.crc, txn: this.begin.txn,
        });
        await this.appendRecord(seq, header, c.data);
        faultPoint('sm-data-record');
        this.storedBytes += c.data.byteLength;
        this.txn.progress(rawLength, this.begin.name);
      } catch (err) {
        this.failure ??= err;
      } finally {
        this.inFlight--;
        this.wake();
      }
    });
    while (this.inFlight >= this.ctx.write.bufferCount && !this.failure) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
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
      saveset: this.id, part: p.index, volume: p.volume.id, offset: p.offset, length: p.volume.size - p.offset, firstSeq: p.firstSeq,
    });
  }
}
