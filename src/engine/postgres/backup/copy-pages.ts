// A relation file copied as page lists, the copy of a level 1 or 2: entries that each
// list up to WINDOW_PAGES blocks, each followed by those pages. Either the blocks are
// known before reading (from the WAL: read scattered straight into the sink's buffers,
// several reads in flight, pages the WAL's images restore not read at all), or every
// page is read and those a scan keeps are written. Every file that exists gets an entry
// in the part holding its start, an empty list when nothing changed.

import type { FileImages } from '../wal/page-changes.js';
import { settleAll } from '../../../common/run-parallel.js';
import { stampChecksums } from '../format/page.js';
import { PAGE_SIZE } from '../format/page-size.js';
import { entryHead, readChunk, readScattered, type OpenedFile } from './file-reader.js';
import type { CopyTools } from './copy-whole.js';

/** the most pages one entry lists; also the pages a scan reads at a time */
export const WINDOW_PAGES = 256;
/** reads of scattered changed pages in flight at once per fill (the thread pool is sized for it) */
const READS_IN_FLIGHT = 16;

/** Tools of the copies by page list: a buffer of the copy's own, reused file after file (the sink copies what it is given). */
export interface PageTools extends CopyTools {
  scratch(): Buffer;
}

/**
 * The blocks `list` (ascending) of `o`. Returns once the reads are under way: `landed`
 * settles when they have landed (the file must stay open until then), rejected if one failed.
 */
export async function copyListed(
  t: PageTools,
  o: OpenedFile,
  list: readonly number[],
  images: FileImages | undefined,
): Promise<{ landed: Promise<void> }> {
  if (list.length === 0) {
    if (o.from === 0) await t.w.entry({ ...entryHead(o), pages: [] });
    return { landed: Promise.resolve() };
  }
  const arriving: Promise<void>[] = [];
  try {
    for (let i = 0; i < list.length; i += WINDOW_PAGES)
      await pourWindow(t, o, list.slice(i, i + WINDOW_PAGES), arriving, images);
  } catch (err) {
    // reads still on their way land before the file is closed (they read by descriptor)
    await Promise.allSettled(arriving);
    throw err;
  }
  const landed = settleAll(arriving).then(() => t.onBytes(list.length * PAGE_SIZE));
  landed.catch(() => {}); // awaited by the caller, which may first finish another file
  return { landed };
}

/** One entry's pages, read straight into the sink's buffers; through the scratch buffer where not a page fits. */
async function pourWindow(
  t: PageTools,
  o: OpenedFile,
  list: readonly number[],
  arriving: Promise<void>[],
  images: FileImages | undefined,
): Promise<void> {
  await t.w.entry({ ...entryHead(o), pages: list });
  for (let done = 0; done < list.length;) {
    const at = done;
    const n = await t.w.pourAhead((room) => {
      const take = Math.min(Math.floor(room.length / PAGE_SIZE), list.length - at);
      if (take === 0) return { bytes: 0, arrived: Promise.resolve() };
      const arrived = readListed(t, o, list.slice(at, at + take), room.subarray(0, take * PAGE_SIZE), images);
      arriving.push(arrived);
      return { bytes: take * PAGE_SIZE, arrived };
    });
    const pages = n > 0 ? n / PAGE_SIZE : Math.min(list.length - at, WINDOW_PAGES);
    if (n === 0) {
      const buf = t.scratch().subarray(0, pages * PAGE_SIZE);
      await readListed(t, o, list.slice(at, at + pages), buf, images);
      await t.w.data(buf);
    }
    done += pages;
  }
}

/**
 * Reads the listed pages into `buf` (those the WAL's images restore are put there instead,
 * as replay would: checksummed where the cluster has checksums), then checks them all.
 */
async function readListed(
  t: PageTools,
  o: OpenedFile,
  list: readonly number[],
  buf: Buffer,
  images: FileImages | undefined,
): Promise<void> {
  let filled: Uint8Array | undefined;
  if (images) {
    filled = new Uint8Array(list.length);
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const page = images.page(list[i]!);
      if (!page) continue;
      buf.set(page, i * PAGE_SIZE);
      filled[i] = 1;
      n++;
    }
    if (n > 0 && t.check.checksums)
      stampChecksums(
        buf,
        list.map((b) => o.blockBase! + b),
        filled,
      );
    t.w.imagesUsed(n);
  }
  await readScattered(o.fh.fd, buf, list, READS_IN_FLIGHT, filled);
  await t.check.check(buf, list, o.blockBase!, o.f.path, o.reread);
}

/**
 * Every page of the piece read, WINDOW_PAGES at a time, checked, and written when `keep`
 * says so (block numbers within the file).
 */
export async function copyScanned(
  t: PageTools,
  o: OpenedFile,
  keep: (page: Buffer, block: number) => boolean,
): Promise<void> {
  const buf = t.scratch().subarray(0, WINDOW_PAGES * PAGE_SIZE);
  let entries = 0;
  for (let pos = o.from; pos < o.to;) {
    const n = Math.min(buf.length, o.to - pos);
    await readChunk(o.fh, buf, pos, n);
    const window = buf.subarray(0, n);
    await t.check.check(window, pos / PAGE_SIZE, o.blockBase!, o.f.path, o.reread);
    const pages: number[] = [];
    for (let p = 0; p < n; p += PAGE_SIZE)
      if (keep(window.subarray(p, p + PAGE_SIZE), (pos + p) / PAGE_SIZE)) pages.push((pos + p) / PAGE_SIZE);
    if (pages.length > 0) {
      await t.w.entry({ ...entryHead(o), pages });
      for (const b of pages) await t.w.data(window.subarray(b * PAGE_SIZE - pos, b * PAGE_SIZE - pos + PAGE_SIZE));
      entries++;
    }
    pos += n;
    t.onBytes(n);
  }
  if (entries === 0 && o.from === 0) await t.w.entry({ ...entryHead(o), pages: [] });
}
