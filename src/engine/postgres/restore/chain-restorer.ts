// The one restore loop: a space from its chain of levels (2, 1, 0), newest level first,
// writing each page once; a level 0 alone is a chain of one. The newest level decides
// which files exist and how long they are, and an older level writes only the pages no
// newer level wrote (page-ledger.ts). Parts of one level may run in parallel; levels run
// strictly in order. Nothing is ever written beyond a file's final size, and no file the
// newest level lacks is created. What a stream names is checked by its decoder; the files
// are written by file-writer.ts (nothing below the root reached through a link, none made).
//
// Resume: a part an interrupted run finished (`done`) is not written again. What it holds
// still counts for the older levels, so where an older level has a part left to write, the
// finished parts of the newer levels are read again, writing nothing, and their entries
// rebuild the ledger as the interrupted run had it; a part's writes depend only on the
// levels newer than its own, so a part redone writes what it wrote the first time.
// Finished parts that no part left to write depends on are not read at all.

import { fail } from '../../../common/errors.js';
import { faultPoint } from '../../../common/fault.js';
import { TargetDir } from '../../../common/io/target-dir.js';
import { runParallel, settleAll } from '../../../common/run-parallel.js';
import { PageLedger } from './page-ledger.js';
import { SpaceStreamDecoder, type FileEntry } from '../format/space-stream.js';
import { FileWriter, writeNonFile } from './file-writer.js';
import type { RestoreLevel } from '../../engine.js';
import { PAGE_SIZE } from '../format/page-size.js';

export interface ChainRestoreOptions {
  /** parts of one level restored at once */
  readonly parallel?: number;
  readonly onBytes?: (n: number) => void;
  readonly signal?: AbortSignal;
  /** stream path -> the name to write it under (pg_control until the restore is complete) */
  readonly writeAs?: ReadonlyMap<string, string>;
  /** why a stream may not carry this path (the restore's own files), or undefined */
  readonly refuse?: (path: string) => string | undefined;
  /**
   * called when a part (by its level's depth, newest 0, and its index) is written, before
   * the level goes on: its files are closed, not yet synced
   */
  readonly onPartDone?: (depth: number, part: number) => void | Promise<void>;
}

export interface ChainRestoreResult {
  /** files (and directories, links) of the restored space */
  readonly files: number;
  /** stream content bytes of the parts written */
  readonly bytes: number;
  /** bytes written to files */
  readonly written: number;
}

/**
 * `levels` newest first (each its save sets, opened when their turn comes); the last is the
 * level 0 the chain rests on. `root`: a directory (made when missing; it may be a link), or
 * one checked below a data directory.
 */
export async function restoreChainStreams(
  levels: readonly RestoreLevel[],
  root: string | TargetDir,
  opts: ChainRestoreOptions = {},
): Promise<ChainRestoreResult> {
  if (levels.length === 0) fail('INTERNAL', 'a chain restore needs at least one level');
  const ledger = new PageLedger(levels.length, PAGE_SIZE);
  const totals = { entries: 0, bytes: 0, written: 0 };
  const tree = typeof root === 'string' ? TargetDir.open(root) : root;
  const work = partsToRead(levels);
  for (const [depth, level] of levels.entries()) {
    opts.signal?.throwIfAborted();
    // a part's report (which flushes it, then records it) runs beside the next part rather
    // than holding its stream; the level ends once every report has
    const reports: Promise<void>[] = [];
    try {
      await runParallel(work[depth]!, Math.max(1, opts.parallel ?? 1), async ({ part, reread }) => {
        await restorePart(level.parts[part]!(), { tree, depth, level: level.level, ledger, opts, totals, reread });
        if (!reread && opts.onPartDone) reports.push(Promise.resolve().then(() => opts.onPartDone!(depth, part)));
      });
    } catch (err) {
      await Promise.allSettled(reports);
      throw err;
    }
    await settleAll(reports);
    faultPoint('restore-chain-level');
  }
  return { files: totals.entries, bytes: totals.bytes, written: totals.written };
}

/**
 * Per level, the parts to read: those left to write, and, in the levels newer than the
 * oldest one with a part left, the finished ones (`reread`: for the ledger only).
 */
function partsToRead(levels: readonly RestoreLevel[]): { part: number; reread: boolean }[][] {
  const left = (l: RestoreLevel, i: number) => l.done?.[i] !== true;
  let oldest = -1;
  for (const [depth, l] of levels.entries()) if (l.parts.some((_, i) => left(l, i))) oldest = depth;
  return levels.map((l, depth) =>
    l.parts.flatMap((_, part): { part: number; reread: boolean }[] => {
      if (left(l, part)) return [{ part, reread: false }];
      return depth < oldest ? [{ part, reread: true }] : [];
    }),
  );
}

interface PartContext {
  /** shared by the parts: directories are checked once */
  readonly tree: TargetDir;
  readonly depth: number;
  readonly level: number;
  readonly ledger: PageLedger;
  readonly opts: ChainRestoreOptions;
  readonly totals: { entries: number; bytes: number; written: number };
  /** a part already written: its entries go to the ledger, nothing is written */
  readonly reread: boolean;
}

/** The file entry being read: `size` its final size; `writer` set when its bytes are to be written. */
interface Current {
  readonly entry: FileEntry;
  readonly write: boolean;
  readonly size: number;
  readonly writer: FileWriter | undefined;
}

async function restorePart(source: AsyncIterable<Buffer>, c: PartContext): Promise<void> {
  const decoder = new SpaceStreamDecoder();
  let cur: Current | undefined;
  let sawHeader = false;
  let sawTrailer = false;
  const finish = async () => {
    if (!cur) return;
    const done = cur;
    cur = undefined;
    // the newest level's mode is the file's, set by the entry that wrote it
    await done.writer?.close(c.depth === 0 ? done.entry.mode : undefined);
    if (done.write && done.entry.pages) c.ledger.markWritten(done.entry.path, done.entry.pages, c.depth);
  };
  try {
    for await (const chunk of source) {
      c.opts.signal?.throwIfAborted();
      for (const ev of decoder.push(chunk)) {
        if (ev.kind === 'header') {
          if (ev.header.pageSize !== PAGE_SIZE)
            fail(
              'FORMAT',
              `space stream of level ${c.level}: page size ${ev.header.pageSize} is not supported (only ${PAGE_SIZE})`,
            );
          sawHeader = true;
        } else if (ev.kind === 'entry') {
          await finish();
          cur = await startEntry(ev.entry, c);
        } else if (ev.kind === 'data') {
          if (!cur) fail('FORMAT', 'space stream: data outside a file');
          if (c.reread) continue;
          c.totals.bytes += ev.data.length;
          c.opts.onBytes?.(ev.data.length);
          if (cur.writer)
            c.totals.written += cur.entry.pages
              ? await writePages(cur, cur.writer, ev.data, ev.offset, c)
              : await writeWhole(cur, cur.writer, ev.data, ev.offset, c);
        } else {
          await finish();
          sawTrailer = true;
        }
      }
    }
    decoder.end();
  } finally {
    await cur?.writer?.abandon();
  }
  if (!sawHeader || !sawTrailer) fail('TRUNCATED', `space stream of level ${c.level} ended early`);
}

/** Directories and links come from the newest level only; a file as the ledger says. */
async function startEntry(e: FileEntry, c: PartContext): Promise<Current | undefined> {
  const refused = c.opts.refuse?.(e.path);
  if (refused !== undefined) fail('FORMAT', `space stream of level ${c.level}: ${refused}`);
  const rel = c.opts.writeAs?.get(e.path) ?? e.path;
  if (e.type !== 'file') {
    if (c.depth > 0 || c.reread) return undefined;
    c.totals.entries++;
    writeNonFile(c.tree, rel, e);
    return undefined;
  }
  const claim = c.ledger.claim(e, c.depth);
  if (!claim.write) return { entry: e, write: false, size: 0, writer: undefined };
  if (c.reread) return { entry: e, write: true, size: claim.size, writer: undefined };
  if (claim.create) c.totals.entries++; // first sight in the newest level: the file exists from now on
  return {
    entry: e,
    write: true,
    size: claim.size,
    writer: await FileWriter.open(c.tree, rel, e, claim.size, claim.create),
  };
}

/** Page-list content: the n-th page of the list is block pages[n]; runs of wanted, consecutive blocks go in one write. */
async function writePages(cur: Current, w: FileWriter, data: Buffer, offset: number, c: PartContext): Promise<number> {
  const pages = cur.entry.pages!;
  let written = 0;
  let runData = -1; // start of the pending run in `data`
  let runFile = 0; // its file offset
  let runLen = 0;
  const flush = async () => {
    if (runLen > 0) {
      await w.write(data.subarray(runData, runData + runLen), runFile);
      written += runLen;
    }
    runLen = 0;
  };
  for (let done = 0; done < data.length;) {
    const pos = offset + done;
    const index = Math.floor(pos / PAGE_SIZE);
    const within = pos % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - within, data.length - done);
    const block = pages[index];
    if (block === undefined) fail('FORMAT', `space stream: ${cur.entry.path} carries more pages than it lists`);
    const fileAt = block * PAGE_SIZE + within;
    if ((block + 1) * PAGE_SIZE <= cur.size && !c.ledger.taken(cur.entry.path, block, c.depth)) {
      if (runLen > 0 && runFile + runLen !== fileAt) await flush();
      if (runLen === 0) {
        runData = done;
        runFile = fileAt;
      }
      runLen += n;
    } else {
      await flush();
    }
    done += n;
  }
  await flush();
  return written;
}

/** Whole-file content (or a range of it): the parts below the final size that no newer level wrote. */
async function writeWhole(cur: Current, w: FileWriter, data: Buffer, offset: number, c: PartContext): Promise<number> {
  const at = (cur.entry.offset ?? 0) + offset;
  let written = 0;
  for (const [from, to] of c.ledger.free(cur.entry.path, at, Math.min(at + data.length, cur.size), c.depth)) {
    await w.write(data.subarray(from - at, to - at), from);
    written += to - from;
  }
  return written;
}
