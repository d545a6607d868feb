// Pages restored from the full-page images of the WAL a level 1 or 2 reads, so that the
// copy need not read them from the data files. After a checkpoint the first change of a
// page writes its whole image into the WAL; a page changed once since (most pages a
// transaction load touches at random) has that record as its last, and the page as WAL
// replay would leave it is that image: the hole zero-filled and pd_lsn set to the end of
// the record (RestoreBlockImage, XLogReadBufferForRedoExtended). No record touches the
// page between it and this backup's start, and replay from that start redoes whatever
// comes after, exactly as for a page read from disk. What the image lacks are hint bits
// set since, which are not WAL-logged and which crash recovery loses the same way.
//
// Kept only while the image is the block's last reference: any later reference without
// an image, and any record that creates, truncates or drops the relation or its database,
// drops it. Main forks only (free space and visibility maps are copied whole), images
// that replay applies (not wal_consistency_checking's) and are not compressed
// (wal_compression: read from disk as before). At most `maxPages` pages are kept.
// pd_checksum is the copy's to set (the image carries the value of its time).

import { imageApplies, imageCompression, imageOffset, type DecodedRecord } from './wal-record.js';
import { pageIsNew } from '../format/page.js';
import type { WalFormat } from '../format/wal-format.js';

/** pages per storage chunk: memory grows 1 MiB at a time, as images come */
const CHUNK_PAGES = 128;

/** The pages of one relation's main fork, for the copy. */
export interface RelationImages {
  readonly spcOid: number;
  readonly dbOid: number;
  readonly relNumber: number;
  /** block numbers, ascending */
  readonly blocks: Uint32Array;
  /** page of blocks[i]: chunks[slot / CHUNK_PAGES], page slot % CHUNK_PAGES */
  readonly slots: Uint32Array;
}

export interface KeptImages {
  readonly pageSize: number;
  readonly chunkPages: number;
  readonly chunks: ArrayBuffer[];
  readonly relations: RelationImages[];
  readonly count: number;
}

/** The kept pages of one relation (the collector's per-relation entry holds it). */
export type RelImageSlots = Map<number, number>;

export class BlockImages {
  private readonly chunks: Uint8Array[] = [];
  private readonly free: number[] = [];
  private next = 0;
  private live = 0;

  constructor(
    private readonly maxPages: number,
    private readonly pageSize: number,
  ) {}

  /**
   * Block `i` of `rec` (main fork) is referenced; `endLsn` is where the record ends (the
   * next one starts). Keeps the page its image restores, or lets go of what was kept.
   */
  note(slots: RelImageSlots, rec: DecodedRecord, i: number, format: WalFormat, endLsn: number): void {
    const block = rec.blockNumber[i]!;
    const had = slots.get(block);
    const usable = imageApplies(rec, i, format) && imageCompression(rec, i, format) === 'none';
    if (!usable) {
      if (had !== undefined) this.release(slots, block, had);
      return;
    }
    const slot = had ?? this.take();
    if (slot === undefined) return; // full: nothing kept for this block (and nothing was)
    this.restore(slot, rec, i, endLsn);
    if (had === undefined) slots.set(block, slot);
  }

  /** Lets go of every page kept in `slots` (the relation was created, truncated or dropped). */
  dropAll(slots: RelImageSlots): void {
    for (const slot of slots.values()) this.free.push(slot);
    this.live -= slots.size;
    slots.clear();
  }

  /** The kept pages, by relation; `rels` are the collector's entries with their slots. */
  finish(rels: Iterable<{ spc: number; db: number; rel: number; images: RelImageSlots | undefined }>): KeptImages {
    const relations: RelationImages[] = [];
    for (const e of rels) {
      if (!e.images || e.images.size === 0) continue;
      const blocks = Uint32Array.from(e.images.keys()).sort();
      const slots = new Uint32Array(blocks.length);
      for (let k = 0; k < blocks.length; k++) slots[k] = e.images.get(blocks[k]!)!;
      relations.push({ spcOid: e.spc, dbOid: e.db, relNumber: e.rel, blocks, slots });
    }
    return {
      pageSize: this.pageSize,
      chunkPages: CHUNK_PAGES,
      chunks: this.chunks.map((c) => c.buffer as ArrayBuffer),
      relations,
      count: this.live,
    };
  }

  private take(): number | undefined {
    const reused = this.free.pop();
    if (reused !== undefined) {
      this.live++;
      return reused;
    }
    if (this.next >= this.maxPages) return undefined;
    const slot = this.next++;
    if (slot % CHUNK_PAGES === 0) this.chunks.push(new Uint8Array(CHUNK_PAGES * this.pageSize));
    this.live++;
    return slot;
  }

  private release(slots: RelImageSlots, block: number, slot: number): void {
    slots.delete(block);
    this.free.push(slot);
    this.live--;
  }

  /**
   * RestoreBlockImage into the slot: the image with its hole zero-filled, then pd_lsn =
   * `endLsn`, unless the page is new (pd_upper 0: an all-zero page stays all zero, as
   * XLogReadBufferForRedoExtended leaves it).
   */
  private restore(slot: number, rec: DecodedRecord, i: number, endLsn: number): void {
    const size = this.pageSize;
    const page = this.chunks[Math.floor(slot / CHUNK_PAGES)]!.subarray(
      (slot % CHUNK_PAGES) * size,
      ((slot % CHUNK_PAGES) + 1) * size,
    );
    const src = imageOffset(rec, i);
    const len = rec.imageLength[i]!;
    const holeOff = rec.holeOffset[i]!;
    const holeLen = rec.holeLength[i]!;
    const bytes = rec.bytes;
    if (holeLen === 0) {
      page.set(bytes.subarray(src, src + size));
    } else {
      page.set(bytes.subarray(src, src + holeOff), 0);
      page.fill(0, holeOff, holeOff + holeLen);
      page.set(bytes.subarray(src + holeOff, src + len), holeOff + holeLen);
    }
    // PageXLogRecPtr: xlogid (high half), then xrecoff, each in the machine's order (little-endian here)
    const dv = new DataView(page.buffer, page.byteOffset, 16);
    if (pageIsNew(dv)) return;
    dv.setUint32(0, Math.floor(endLsn / 0x100000000), true);
    dv.setUint32(4, endLsn >>> 0, true);
  }
}
