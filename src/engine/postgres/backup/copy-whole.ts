// A file (or its piece) copied whole into the stream: what a level 0 does with every file,
// and a level 1 or 2 with files the base lacks, maps and files that are not a relation's.
// File data is read straight into the sink's buffers and its pages checked there: no copy
// on this thread. Large relation pieces of a level 0 are read with O_DIRECT into the
// page-aligned buffers, several reads in flight: no copy out of the page cache (the
// kernel's most expensive part of the read) and no cache pollution.

import fsp from 'node:fs/promises';
import type { SpaceFile, SpaceInfo } from '../../engine.js';
import { openDirect } from '../../../common/io/direct-file.js';
import { RELSEG_BLOCKS } from '../format/page.js';
import { relationBlockBase } from '../format/relation-path.js';
import { PAGE_SIZE } from '../format/page-size.js';
import { copyBounds } from './spaces.js';
import { entryHead, readChunk, readSmall, type OpenedFile } from './file-reader.js';
import type { PageCheck } from './page-check.js';
import type { SmallFileCache } from './small-file-cache.js';
import type { SpaceStreamWriter } from './stream-writer.js';

/** relation pieces at least this large are read with O_DIRECT when the sink allows */
const DIRECT_MIN = 1024 * 1024;
/** the memory alignment direct reads need (the largest logical block size in use) */
const DIRECT_ALIGN = 4096;

export interface CopyTools {
  readonly w: SpaceStreamWriter;
  readonly check: PageCheck;
  onBytes(n: number): void;
}

/**
 * The piece [from, to) of `o` as one entry and its bytes. `aligned`: a large relation
 * piece gets an entry padded so that its pages land page-aligned, and is read by direct
 * reads going ahead (the next starts while this one is on its way). Resolves once every
 * read has landed (a failed one fails the sink too).
 */
export async function copyWhole(t: CopyTools, o: OpenedFile, aligned: boolean): Promise<void> {
  const { fh, blockBase, from, to } = o;
  const direct =
    aligned && blockBase !== undefined && to - from >= DIRECT_MIN && t.w.alignable
      ? await openDirect(o.file, 'read')
      : undefined;
  const reading: Promise<void>[] = [];
  try {
    await t.w.entry(
      { ...entryHead(o), ...(o.f.range ? { offset: from, length: Math.max(0, to - from) } : {}) },
      direct !== undefined,
    );
    for (let pos = from; pos < to;) {
      const n =
        (direct && t.w.canPourAhead ? await pourDirect(t, o, direct, pos, reading) : 0) ||
        (await pourBuffered(t, o, direct, pos));
      if (n > 0) {
        pos += n;
        t.onBytes(n);
        continue;
      }
      // a page that straddles two buffers is read and checked on its own, then written
      const page = Buffer.allocUnsafe(PAGE_SIZE);
      await readChunk(fh, page, pos, PAGE_SIZE);
      await t.check.check(page, pos / PAGE_SIZE, blockBase!, o.f.path, o.reread);
      await t.w.data(page);
      pos += PAGE_SIZE;
      t.onBytes(PAGE_SIZE);
    }
  } finally {
    await Promise.allSettled(reading.splice(0));
    await direct?.close();
  }
}

/** A direct read of whole pages into the free part of the sink's buffer, going ahead; 0 when not aligned there. */
function pourDirect(
  t: CopyTools,
  o: OpenedFile,
  direct: fsp.FileHandle,
  at: number,
  reading: Promise<void>[],
): Promise<number> {
  return t.w.pourAhead((room) => {
    const fits = Math.min(room.length, o.to - at);
    const want = fits - (fits % PAGE_SIZE);
    if (want === 0 || room.byteOffset % DIRECT_ALIGN !== 0 || at % DIRECT_ALIGN !== 0)
      return { bytes: 0, arrived: Promise.resolve() };
    const arrived = (async () => {
      await readChunk(o.fh, room, at, want, direct);
      await t.check.check(room.subarray(0, want), at / PAGE_SIZE, o.blockBase!, o.f.path, o.reread);
    })();
    reading.push(arrived);
    return { bytes: want, arrived };
  });
}

/** A read into the free part of the sink's buffer, whole pages of a relation; 0 when not one page fits. */
function pourBuffered(t: CopyTools, o: OpenedFile, direct: fsp.FileHandle | undefined, pos: number): Promise<number> {
  return t.w.pour(async (room) => {
    let want = Math.min(room.length, o.to - pos);
    if (o.blockBase !== undefined) {
      if (want < PAGE_SIZE) return 0; // the buffer ends inside a page: that page goes on its own
      want -= want % PAGE_SIZE;
    }
    const aligned = direct !== undefined && room.byteOffset % DIRECT_ALIGN === 0 && pos % DIRECT_ALIGN === 0;
    await readChunk(o.fh, room, pos, want, aligned ? direct : undefined);
    if (o.blockBase !== undefined)
      await t.check.check(room.subarray(0, want), pos / PAGE_SIZE, o.blockBase, o.f.path, o.reread);
    return want;
  });
}

/**
 * A small file into the stream, read whole (ahead while other files were copied, or now):
 * the same entry and bytes as any file copied whole. 'dropped' when it is gone since
 * listed (WAL replay agrees), 'grown' when it is no longer small (the caller opens it).
 */
export async function copySmall(
  t: CopyTools,
  space: SpaceInfo,
  f: SpaceFile,
  cache: SmallFileCache | undefined,
  onFile: ((path: string, size: number) => void) | undefined,
): Promise<'copied' | 'dropped' | 'grown'> {
  const small = await readSmall(space, f, cache);
  if (!small) return 'dropped';
  if (small === 'grown') return small;
  const { st, data } = small;
  const blockBase = relationBlockBase(f.path, RELSEG_BLOCKS);
  // a relation is copied in whole pages; a concurrent extension is in the WAL
  const { size } = copyBounds(f, data.length, blockBase !== undefined, PAGE_SIZE);
  await t.w.entry({ path: f.path, type: 'file', mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size });
  onFile?.(f.path, size);
  const body = data.subarray(0, size);
  if (blockBase !== undefined && size > 0) await t.check.check(body, 0, blockBase, f.path, small.reread);
  await t.w.data(body);
  t.onBytes(size);
  return 'copied';
}
