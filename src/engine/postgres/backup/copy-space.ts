// The copy of a space (or one part of it) as a space stream, for every level: one pass
// over its files, in which the level chooses which pages of each file go (page-choice.ts)
// and the rest is shared: one file reader (file-reader.ts; whole pieces in copy-whole.ts,
// page lists in copy-pages.ts), one page check (page-check.ts), one stream writer that
// frames and counts (stream-writer.ts). Every file that exists gets an entry: the newest
// level's entries say which files a restore creates and how long they are.

import type { ByteSink, SpaceFile, SpaceInfo, SpaceReadOptions } from '../../engine.js';
import { parseLsn } from '../format/lsn.js';
import { PAGE_SIZE } from '../format/page-size.js';
import { trace } from '../../../common/trace.js';
import { copyBounds } from './spaces.js';
import { openSpaceFile, type OpenedFile } from './file-reader.js';
import { PageCheck } from './page-check.js';
import { pageChoice, type PageChoice } from './page-choice.js';
import { copySmall, copyWhole } from './copy-whole.js';
import { copyListed, copyScanned, WINDOW_PAGES, type PageTools } from './copy-pages.js';
import { settleAll } from '../../../common/run-parallel.js';
import { SpaceStreamWriter } from './stream-writer.js';
import type { SmallFileCache } from './small-file-cache.js';

/** files of a part whose page reads may still be landing while the next file's start */
const FILES_LANDING = 4;

/**
 * Writes the space stream of `files` into `sink`; `files` is pulled one at a time (it may
 * be a queue shared with the space's other parts). File data is read straight into the
 * sink's buffers where it can be and checked there.
 */
export async function copySpace(
  space: SpaceInfo,
  files: Iterable<SpaceFile>,
  sink: ByteSink,
  opts: SpaceReadOptions,
  smallFiles?: SmallFileCache,
): Promise<void> {
  const w = new SpaceStreamWriter(sink, opts);
  const check = new PageCheck({
    space: space.name,
    startLsn: parseLsn(opts.startLsn),
    checksums: opts.checksums,
    onBad: (p) => w.badPage(p),
  });
  let scratch: Buffer | undefined;
  const t: PageTools = {
    w,
    check,
    onBytes: (n) => opts.onBytes(n),
    scratch: () => (scratch ??= Buffer.allocUnsafe(WINDOW_PAGES * PAGE_SIZE)),
  };
  const choice = pageChoice(space, opts);
  const tally = { unchanged: 0, small: 0, opened: 0 };
  // files whose pages are still being read (into the sink's buffers) while the next file
  // is opened and its reads start: each is closed once its reads have landed
  const landing: Promise<void>[] = [];
  await w.header(space);
  try {
    for (const f of files) {
      opts.signal?.throwIfAborted();
      const { closed } = await copyFile(f);
      if (closed) landing.push(closed);
      // a few files at a time: their reads fill the thread pool, their descriptors stay few
      if (landing.length >= FILES_LANDING) await landing.shift();
    }
    await settleAll(landing.splice(0));
  } finally {
    await Promise.allSettled(landing);
  }
  const counts = await w.finish();
  trace(
    `copy ${space.name} part ${opts.part}: ${counts.files} files, ${tally.unchanged} unchanged since the base, ${tally.small} small read whole, ${tally.opened} opened, ${counts.imagePages} pages from WAL images`,
  );

  /** One file into the stream; `closed`: when its reads are still landing, the file's closing after them. */
  async function copyFile(f: SpaceFile): Promise<{ closed?: Promise<void> }> {
    if (f.type !== 'file') {
      await w.entryWithoutData(f);
      w.countFile();
      return {};
    }
    const how = choice.before(f);
    if (how === 'unchanged') {
      if (await entryUnchanged(w, f, opts)) {
        w.countFile();
        tally.unchanged++;
      }
      return {};
    }
    if (how === 'small') {
      const r = await copySmall(t, space, f, smallFiles, opts.onFile);
      if (r === 'dropped') return {};
      if (r === 'copied') {
        w.countFile();
        tally.small++;
        return {};
      } // grown large since listed: opened like the large ones, below
    }
    const o = await openSpaceFile(space, f);
    if (!o) return {};
    tally.opened++;
    let reads: Promise<void> | undefined;
    try {
      if (o.from === 0) opts.onFile?.(f.path, o.size);
      reads = (await copyOpened(t, o, choice)).landed;
      w.countFile();
    } finally {
      if (!reads) await o.fh.close();
    }
    if (!reads) return {};
    const closed = reads.finally(() => o.fh.close());
    closed.catch(() => {}); // awaited by the loop or at the end, after other files
    return { closed };
  }
}

/** What the level takes of an opened file, into the stream; a copy by page list may still be landing. */
async function copyOpened(t: PageTools, o: OpenedFile, choice: PageChoice): Promise<{ landed?: Promise<void> }> {
  const take = await choice.take(o);
  if (take.kind === 'listed') return copyListed(t, o, take.blocks, take.images);
  if (take.kind === 'whole') await copyWhole(t, o, take.aligned);
  else await copyScanned(t, o, take.keep);
  return {};
}

/** The entry of a file the base holds as it is (in the part holding its start): no pages. */
async function entryUnchanged(w: SpaceStreamWriter, f: SpaceFile, opts: SpaceReadOptions): Promise<boolean> {
  if ((f.range?.offset ?? 0) !== 0) return false;
  const { size } = copyBounds(f, f.size, true, PAGE_SIZE);
  await w.entry({ path: f.path, type: 'file', mode: f.mode & 0o7777, mtimeMs: f.mtimeMs, size, pages: [] });
  opts.onFile?.(f.path, size);
  return true;
}
