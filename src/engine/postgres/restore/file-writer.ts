// The one writer of a restore's files: directories, small files with synchronous calls,
// large files with O_DIRECT where a run is aligned, page lists, ranges, modes set through
// the descriptor, and the flush that makes it all durable. It writes what the restore loop
// (chain-restorer.ts) tells it, where it is told: what goes where is decided there. Below
// the root nothing is reached through a symbolic link (TargetDir) and no link is ever made.
// The pages of large files arrive page-aligned in the transfer buffers (the backup padded
// their entries so) and go to disk with O_DIRECT: no copy into the page cache, nothing
// left for the final sync to flush; anything unaligned (older backups, a frame split
// across records) is written buffered.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { isPageAligned } from '../../../common/io/shared-memory.js';
import type { TargetDir } from '../../../common/io/target-dir.js';
import { contentLength, restoredLinkAs, type FileEntry } from '../format/space-stream.js';
import { PAGE_SIZE } from '../format/page-size.js';

const { O_CREAT, O_TRUNC, O_WRONLY } = fs.constants;

/**
 * whole files up to this size are written with plain synchronous calls: into the page
 * cache they cost microseconds each, where a thread-pool round trip per call (open,
 * write, close) made the catalog files of a database the slowest part of a restore
 */
export const SMALL_SYNC = 256 * 1024;
/** files with at least this much content are written with O_DIRECT where aligned */
export const DIRECT_MIN = 1024 * 1024;
/** the alignment direct writes need, in memory and in the file (the largest logical block size in use) */
export const DIRECT_ALIGN = 4096;

/** A directory entry, or a link entry as the restore makes it (pg_wal: a directory; others: nothing). */
export function writeNonFile(tree: TargetDir, rel: string, e: FileEntry): void {
  if (e.type === 'dir') tree.dir(rel, e.mode || 0o700);
  else if (restoredLinkAs(e) === 'dir') tree.dir(rel);
}

/**
 * One file entry being written. `create`: the restore's first sight of the file, which
 * makes it: a whole file made empty (and cut to its size at close if it got less), a page
 * list's file at its final `size` (older levels fill the pages it lacks), a range's file
 * left as it is (other parts write the other ranges, perhaps at once). Otherwise the file
 * exists, or another part is making it: it is opened on the first byte written.
 */
export class FileWriter {
  /** bytes written */
  written = 0;
  private fh: fsp.FileHandle | undefined;
  /** set instead of `fh` for a small whole file written with synchronous calls */
  private fd: number | undefined;
  /** opened on the first aligned run of a large file; null: not to be, or refused */
  private direct: fsp.FileHandle | null | undefined;
  private readonly made: boolean;

  private constructor(
    private readonly tree: TargetDir,
    private readonly rel: string,
    entry: FileEntry,
    private readonly size: number,
    create: boolean,
  ) {
    this.made = create && entry.pages === undefined && entry.offset === undefined;
    if (entry.pages !== undefined || contentLength(entry, PAGE_SIZE) < DIRECT_MIN) this.direct = null;
  }

  static async open(tree: TargetDir, rel: string, e: FileEntry, size: number, create: boolean): Promise<FileWriter> {
    const w = new FileWriter(tree, rel, e, size, create);
    if (!create) return w;
    if (w.made && size <= SMALL_SYNC) {
      w.fd = tree.openSync(rel, O_WRONLY | O_CREAT | O_TRUNC);
      w.direct = null;
    } else {
      w.fh = await tree.open(rel, O_WRONLY | O_CREAT | (w.made ? O_TRUNC : 0));
      if (e.pages !== undefined) await w.fh.truncate(size);
    }
    return w;
  }

  /** `data` at file offset `at`: directly where memory, offset and length are aligned, else buffered. */
  async write(data: Buffer, at: number): Promise<void> {
    if (this.fd !== undefined) {
      for (let done = 0; done < data.length;) done += fs.writeSync(this.fd, data, done, data.length - done, at + done);
    } else {
      const direct = aligned(data, at) ? await this.directHandle() : undefined;
      const done = direct ? await writeDirect(direct, data, at) : 0;
      if (done < data.length) await writeAll(await this.handle(), data.subarray(done), at + done);
    }
    this.written += data.length;
  }

  /**
   * Ends the entry: a whole file made here is cut to its size if it got less, and `mode`
   * (when given: the newest level's) set through the descriptor; files are created 0600,
   * so only another mode needs a chmod; permission bits only, never set-id or sticky.
   */
  async close(mode: number | undefined): Promise<void> {
    try {
      if (this.fd !== undefined) {
        if (this.written !== this.size) fs.ftruncateSync(this.fd, this.size);
        if (mode !== undefined && mode !== 0o600) fs.fchmodSync(this.fd, mode & 0o777);
      } else if (this.fh) {
        if (this.made && this.written !== this.size) await this.fh.truncate(this.size);
        if (mode !== undefined && mode !== 0o600) await this.fh.chmod(mode & 0o777);
      }
    } finally {
      await this.abandon();
    }
  }

  /** Closes what is open, quietly (after a failure, or from close). */
  async abandon(): Promise<void> {
    const { fd, fh, direct } = this;
    this.fd = undefined;
    this.fh = undefined;
    this.direct = null;
    if (fd !== undefined) fs.closeSync(fd);
    await Promise.all([fh?.close().catch(() => {}), direct?.close().catch(() => {})]);
  }

  private async handle(): Promise<fsp.FileHandle> {
    this.fh ??= await this.tree.open(this.rel, O_WRONLY | O_CREAT);
    return this.fh;
  }

  /** The file opened for direct writes (after the buffered handle: the file exists); undefined where refused (EINVAL on tmpfs and the like). */
  private async directHandle(): Promise<fsp.FileHandle | undefined> {
    if (this.direct === undefined) {
      await this.handle();
      this.direct = (await this.tree.openDirect(this.rel)) ?? null;
    }
    return this.direct ?? undefined;
  }
}

/** Whether `run` can go to file offset `at` by direct I/O: memory, offset and length all aligned. */
function aligned(run: Buffer, at: number): boolean {
  return (
    isPageAligned(run.buffer) &&
    run.byteOffset % DIRECT_ALIGN === 0 &&
    at % DIRECT_ALIGN === 0 &&
    run.length % DIRECT_ALIGN === 0
  );
}

/** Writes what it can of `data` at `pos` directly; returns how much (the caller writes the rest buffered). */
async function writeDirect(fh: fsp.FileHandle, data: Buffer, pos: number): Promise<number> {
  try {
    return (await fh.write(data, 0, data.length, pos)).bytesWritten;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    return 0;
  }
}

async function writeAll(fh: fsp.FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Flushes everything written under `dir` to disk (syncfs through `sync -f` when available,
 * else per file). Asynchronous: parts restored beside it go on writing meanwhile.
 */
export async function syncTree(dir: string): Promise<void> {
  const synced = await new Promise<boolean>((resolve) => execFile('sync', ['-f', dir], (err) => resolve(err === null)));
  if (synced) return;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const fh = await fsp.open(p, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
    }
  };
  await walk(dir);
}
