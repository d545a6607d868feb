// The pages a level 1 or 2 backup must copy, by file, from the block references the
// WAL holds between the base backup's start and this backup's start. Turns relation-
// level changes (tablespace/database/relfilenode, fork, block) into what a space's
// files need: a sorted list of block numbers within the file, or the whole file when
// WAL cannot tell (a new relation file, a database copied with FILE_COPY, FSM and VM forks).

import type { SpaceInfo } from '../../engine.js';
import { RELSEG_BLOCKS } from '../format/page.js';
import { FORK, relationPath, tablespaceOf } from '../format/relation-path.js';
import type { WalChanges } from './block-ref-collector.js';
import type { RelationImages } from './block-images.js';

const EMPTY = new Uint32Array(0);

export class PageChanges {
  private readonly whole = new Set<string>();
  private readonly copiedDatabases = new Set<string>();
  private imageChunks: Uint8Array[] | undefined;
  private imageRels: Map<string, RelationImages> | undefined;

  constructor(private readonly w: WalChanges) {
    for (const c of w.created) this.whole.add(`${c.rel.spcOid}/${c.rel.dbOid}/${c.rel.relNumber}/${c.fork}`);
    for (const d of w.databasesCreated)
      if (d.strategy === 'file_copy') this.copiedDatabases.add(`${d.tablespaceId}/${d.dbId}`);
  }

  get blockCount(): number {
    return this.w.blockCount;
  }

  /**
   * The pages of `relPath` (a main fork's file) that the WAL's full-page images restore,
   * which need not be read; undefined when there are none.
   */
  imagesOf(space: SpaceInfo, relPath: string): FileImages | undefined {
    const kept = this.w.images;
    if (!kept || kept.count === 0) return undefined;
    const f = relationPath(relPath);
    if (!f || f.fork !== FORK.MAIN) return undefined;
    const spc = tablespaceOf(f, space.oid);
    this.imageRels ??= new Map(kept.relations.map((x) => [`${x.spcOid}/${x.dbOid}/${x.relNumber}`, x]));
    const r = this.imageRels.get(`${spc}/${f.db}/${f.rel}`);
    if (!r) return undefined;
    const lo = f.segment * RELSEG_BLOCKS;
    const from = lowerBound(r.blocks, lo);
    const to = lowerBound(r.blocks, lo + RELSEG_BLOCKS);
    if (from === to) return undefined;
    const size = kept.pageSize;
    const chunks = (this.imageChunks ??= kept.chunks.map((c) => new Uint8Array(c)));
    return {
      page: (block) => {
        const k = lowerBound(r.blocks, lo + block);
        if (k >= to || r.blocks[k] !== lo + block) return undefined;
        const slot = r.slots[k]!;
        const at = (slot % kept.chunkPages) * size;
        return chunks[Math.floor(slot / kept.chunkPages)]!.subarray(at, at + size);
      },
    };
  }

  /** What the WAL said, as read. */
  get wal(): WalChanges {
    return this.w;
  }

  /**
   * For a relation file of `space`: 'whole' when it must be copied in full, else the
   * changed block numbers relative to the file (ascending; possibly none).
   */
  pagesOf(space: SpaceInfo, relPath: string): 'whole' | Uint32Array {
    const f = relationPath(relPath);
    if (!f) return 'whole';
    const spc = tablespaceOf(f, space.oid);
    // the free space map is not fully WAL-logged; a visibility-map bit is cleared without a
    // block reference or a new page LSN (heap records only flag it): both go whole
    if (f.fork === FORK.FSM || f.fork === FORK.VM) return 'whole';
    if (this.copiedDatabases.has(`${spc}/${f.db}`)) return 'whole';
    if (this.whole.has(`${spc}/${f.db}/${f.rel}/${f.fork}`)) return 'whole';
    const blocks = this.w.relations.get(`${spc}/${f.db}/${f.rel}`)?.forks.get(f.fork);
    if (!blocks || blocks.length === 0) return EMPTY;
    const lo = f.segment * RELSEG_BLOCKS;
    const hi = lo + RELSEG_BLOCKS;
    const from = lowerBound(blocks, lo);
    const to = lowerBound(blocks, hi);
    const out = blocks.slice(from, to);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! - lo;
    return out;
  }
}

/** The pages restored from WAL images for one relation file: by block number within the file. */
export interface FileImages {
  /** the page of block `block` (within the file), or undefined */
  page(block: number): Uint8Array | undefined;
}

function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
