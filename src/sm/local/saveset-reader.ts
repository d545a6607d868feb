// Reads one save set back: seeks to each fragment, checks every record (header and
// payload checksums, save-set id, sequence), decompresses a few records ahead on the
// codec pool, and at END checks the totals and the hash of the whole set. Any
// mismatch stops the read with an error naming the save set, the volume and the offset.

import { ContentHasher } from '../../common/io/content-hash.js';
import { fail } from '../../common/errors.js';
import { openShared } from '../../common/io/codec-pool.js';
import { SlotPool, type Slot } from '../../common/io/slot-pool.js';
import { codecIds, maxStoredLength } from '../../common/io/codec-kernels.js';
import type { SaveSetInfo } from '../storage-manager.js';
import type { FragmentRow } from './catalog.js';
import { isStop, RecordCursor } from './record-cursor.js';
import { openVolumeForRead } from './volume-file.js';
import { decodeControlPayload, RecordKind, recordKindName, type EndPayload } from './volume-format.js';

export interface ReadPlan {
  readonly info: SaveSetInfo;
  readonly fragments: readonly FragmentRow[];
  readonly smId: string;
  readonly readAhead: number;
  /** size of a transfer buffer: at least the largest record's raw length */
  readonly slotSize: number;
  readonly signal?: AbortSignal | undefined;
  /**
   * Checks only what is stored: each record's header and stored-bytes checksum, their
   * sequence and the set's totals. Nothing is decompressed or hashed, nothing yielded.
   */
  readonly storedOnly?: boolean;
}

/**
 * Yields the set's bytes in transfer buffers: a chunk is valid until the next is asked for.
 * `readAhead` records are opened (decompressed, hashed) ahead on the worker pool.
 */
export async function* readSaveSet(plan: ReadPlan): AsyncGenerator<Buffer> {
  const { info, fragments } = plan;
  function damage(
    label: string,
    offset: number,
    what: string,
    code: 'CHECKSUM' | 'TRUNCATED' | 'FORMAT' = 'CHECKSUM',
  ): never {
    fail(
      code,
      `save set ${info.id} (${info.name}): ${what} in volume ${label} at offset ${offset}`,
      'the save set is damaged; use another backup, or run `openbar sm scan` to see the extent',
    );
  }

  if (fragments.length === 0)
    fail(
      'FORMAT',
      `save set ${info.id} (${info.name}) has no fragments in the catalog`,
      'run `openbar sm scan --rebuild`',
    );
  const hash = new ContentHasher();
  let expectSeq = 0;
  let rawBytes = 0;
  let ended = false;
  // a pool an earlier reader gave back: reading many save sets (WAL files) one after the
  // other reuses the same memory instead of leaving each its own until garbage collection
  const slots = SlotPool.borrow(plan.slotSize, plan.readAhead + 1, maxStoredLength(plan.slotSize));
  const queue: { slot: Slot; rawLength: number; opened: Promise<{ digest: Uint8Array }> }[] = [];
  let lent: Slot | undefined;
  // hands out the oldest opened record; its slot returns to the pool on the next call
  const take = async (): Promise<Buffer> => {
    if (lent) {
      slots.release(lent);
      lent = undefined;
    }
    const q = queue.shift()!;
    const { digest } = await q.opened;
    hash.update(digest);
    rawBytes += q.rawLength;
    lent = q.slot;
    return q.slot.view.subarray(0, q.rawLength);
  };

  try {
    for (const frag of fragments) {
      plan.signal?.throwIfAborted();
      const fh = await openVolumeForRead(frag.path, { smId: plan.smId, pool: info.pool, label: frag.label });
      try {
        const { size } = await fh.stat();
        if (size < frag.offset + frag.length) {
          damage(
            frag.label,
            Math.min(size, frag.offset + frag.length),
            `volume is truncated (${size} bytes, the save set needs ${frag.offset + frag.length})`,
            'TRUNCATED',
          );
        }
        const cursor = new RecordCursor(fh, frag.offset, frag.offset + frag.length, {
          deferDataChecksums: !plan.storedOnly,
        });
        let first = true;
        for (;;) {
          const r = await cursor.next();
          if (r === null) break;
          if (isStop(r)) damage(frag.label, r.offset, r.error, r.short ? 'TRUNCATED' : 'CHECKSUM');
          const h = r.header;
          if (!r.checksumOk) damage(frag.label, r.offset, 'record checksum mismatch');
          if (h.savesetId !== info.id)
            damage(frag.label, r.offset, `record belongs to save set ${h.savesetId}`, 'FORMAT');
          if (first) {
            const want = frag.part === 0 ? RecordKind.begin : RecordKind.continue;
            if (h.kind !== want)
              damage(
                frag.label,
                r.offset,
                `expected ${recordKindName(want)}, found ${recordKindName(h.kind) ?? h.kind}`,
                'FORMAT',
              );
            first = false;
            continue;
          }
          if (h.kind === RecordKind.data) {
            expectSeq++;
            if (h.seq !== expectSeq)
              damage(frag.label, r.offset, `record ${h.seq} out of sequence (expected ${expectSeq})`, 'FORMAT');
            const offset = r.offset;
            if (h.rawLength > plan.slotSize)
              damage(frag.label, offset, `record of ${h.rawLength} bytes is larger than the transfer buffer`, 'FORMAT');
            if (queue.length >= plan.readAhead) yield await take();
            const payload = r.payload!;
            // the stored bytes go where the kernel opens them: the raw area when stored raw
            const raw = h.codec === codecIds.none;
            if (raw ? payload.length !== h.rawLength : payload.length > maxStoredLength(h.rawLength)) {
              damage(
                frag.label,
                offset,
                `cannot decompress record: payload is ${payload.length} bytes for ${h.rawLength} raw`,
                'FORMAT',
              );
            }
            if (plan.storedOnly) {
              rawBytes += h.rawLength;
              continue;
            } // its checksum was checked by the cursor
            const slot = await slots.acquire();
            (raw ? slot.view : slot.stored).set(payload);
            const opened = openShared(h.codec, slot, raw ? null : payload.length, h.rawLength, h.checksum).catch(
              (err: NodeJS.ErrnoException) =>
                damage(
                  frag.label,
                  offset,
                  err.code === 'CHECKSUM' ? 'record checksum mismatch' : `cannot decompress record: ${err.message}`,
                ),
            );
            opened.catch(() => {});
            queue.push({ slot, rawLength: h.rawLength, opened });
          } else if (h.kind === RecordKind.end) {
            while (queue.length > 0) yield await take();
            const end = decodeControlPayload<EndPayload>(r.payload!);
            if (end.records !== expectSeq || end.rawBytes !== rawBytes) {
              damage(
                frag.label,
                r.offset,
                `END says ${end.records} records / ${end.rawBytes} bytes, read ${expectSeq} / ${rawBytes}`,
                'FORMAT',
              );
            }
            // the whole-set hash covers the content: it takes reading it (not storedOnly)
            const digest = plan.storedOnly ? undefined : hash.hex();
            if (digest !== undefined && (digest !== end.hash || (info.hash && digest !== info.hash)))
              damage(frag.label, r.offset, 'whole-set hash mismatch');
            ended = true;
          } else {
            damage(frag.label, r.offset, `unexpected ${recordKindName(h.kind) ?? `kind ${h.kind}`} record`, 'FORMAT');
          }
        }
      } finally {
        await fh.close();
      }
    }
    if (!ended) {
      const last = fragments[fragments.length - 1]!;
      damage(last.label, last.offset + last.length, 'END record missing', 'TRUNCATED');
    }
  } finally {
    if (lent) {
      slots.release(lent);
      lent = undefined;
    }
    if (queue.length === 0) slots.giveBack(); // records still being opened keep their slots
  }
}
