// Writes a space stream back to files under a root directory. What the stream names is
// checked by its decoder; below the root nothing is reached through a symbolic link
// (TargetDir) and no link is made from a stream: a linked pg_wal becomes a directory,
// tablespace links are the restore's last step. Files are written in place at their offsets;
// page lists (incrementals) write only the pages they carry. The pages of large files
// arrive page-aligned in the transfer buffers (the backup padded their entries so) and are
// written with O_DIRECT: no copy into the page cache, nothing left for the final sync to
// flush; anything unaligned (older backups, a frame split across records) is written buffered.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fail } from '../../../common/errors.js';
import { isPageAligned } from '../../../common/io/shared-memory.js';
import { TargetDir } from '../../../common/io/target-dir.js';
import { contentLength, restoredLinkAs, SpaceStreamDecoder, type FileEntry, type StreamHeader, type StreamTrailer } from '../format/space-stream.js';
import { PAGE_SIZE } from '../format/page-size.js';

const { O_CREAT, O_RDWR, O_TRUNC, O_WRONLY } = fs.constants;

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

export interface RestoreResult {
  readonly header: StreamHeader;
  readonly trailer: StreamTrailer;
  readonly files: number;
  readonly bytes: number;
}

/** `root`: a directory (made when missing; it may be a link), or one checked below a data directory. */
export async function restoreSpaceStream(source: AsyncIterable<Buffer>, root: string | TargetDir, opts: { onBytes?: (n: number) => void; signal?: AbortSignal; writeAs?: ReadonlyMap<string, string> } = {}): Promise<RestoreResult> {
  const decoder = new SpaceStreamDecoder();
  let header: StreamHeader | undefined;
  let trailer: StreamTrailer | undefined;
  let current: { entry: FileEntry; fh: fsp.FileHandle; direct: fsp.FileHandle | undefined; pageSize: number; written: number } | undefined;
  /** the small file being written with synchronous calls */
  let small: { entry: FileEntry; fd: number } | undefined;
  let files = 0;
  let bytes = 0;
  const tree = typeof root === 'string' ? TargetDir.open(root) : root;

  // files are created 0600: only another mode needs a chmod, made through the descriptor
  // (a path could be a link); permission bits only, never set-id or sticky
  const finish = async () => {
    if (small) {
      const { fd, entry } = small;
      small = undefined;
      try {
        if (entry.mode !== 0o600) fs.fchmodSync(fd, entry.mode & 0o777);
      } finally {
        fs.closeSync(fd);
      }
    }
    if (!current) return;
    const { fh, direct, entry, written } = current;
    current = undefined;
    try {
      // a range never truncates: the other ranges of the file may be written in parallel; a
      // whole file opened empty ('w') that got all its bytes is already its size
      if (entry.offset === undefined && (entry.pages !== undefined || written !== entry.size)) await fh.truncate(entry.size);
      if (entry.mode !== 0o600) await fh.chmod(entry.mode & 0o777);
    } finally {
      await Promise.all([fh.close(), direct?.close()]);
    }
  };

  try {
    for await (const chunk of source) {
      opts.signal?.throwIfAborted();
      for (const ev of decoder.push(chunk)) {
        switch (ev.kind) {
          case 'header':
            header = ev.header;
            break;
          case 'entry': {
            await finish();
            const e = ev.entry;
            const rel = opts.writeAs?.get(e.path) ?? e.path;
            files++;
            if (e.type === 'dir') {
              tree.dir(rel, e.mode || 0o700);
            } else if (e.type === 'symlink') {
              if (restoredLinkAs(e) === 'dir') tree.dir(rel);
            } else if (e.pages === undefined && e.offset === undefined && e.size <= SMALL_SYNC) {
              // made empty; its bytes follow, all of them (contentLength = size)
              small = { entry: e, fd: tree.openSync(rel, O_WRONLY | O_CREAT | O_TRUNC) };
            } else {
              const inPlace = e.pages !== undefined || e.offset !== undefined;
              const fh = await tree.open(rel, inPlace ? O_RDWR | O_CREAT : O_WRONLY | O_CREAT | O_TRUNC);
              const direct = e.pages === undefined && contentLength(e, header?.pageSize ?? PAGE_SIZE) >= DIRECT_MIN ? await tree.openDirect(rel) : undefined;
              current = { entry: e, fh, direct, pageSize: header?.pageSize ?? PAGE_SIZE, written: 0 };
            }
            break;
          }
          case 'data': {
            if (small) {
              for (let done = 0; done < ev.data.length;) done += fs.writeSync(small.fd, ev.data, done, ev.data.length - done, ev.offset + done);
              bytes += ev.data.length;
              opts.onBytes?.(ev.data.length);
              break;
            }
            if (!current) fail('FORMAT', 'space stream: data outside a file');
            const { entry, fh, pageSize } = current;
            let pos = ev.offset + (entry.offset ?? 0);
            if (entry.pages) {
              // the n-th page of the list goes to block pages[n]
              for (let done = 0; done < ev.data.length;) {
                const index = Math.floor(pos / pageSize);
                const within = pos % pageSize;
                const n = Math.min(pageSize - within, ev.data.length - done);
                await fh.write(ev.data, done, n, entry.pages[index]! * pageSize + within);
                done += n;
                pos += n;
              }
            } else {
              const d = ev.data;
              const aligned = current.direct !== undefined && isPageAligned(d.buffer) && d.byteOffset % DIRECT_ALIGN === 0 && pos % DIRECT_ALIGN === 0 && d.length % DIRECT_ALIGN === 0;
              let done = aligned ? await writeDirect(current.direct!, d, pos) : 0;
              while (done < d.length) {
                const { bytesWritten } = await fh.write(d, done, d.length - done, pos + done);
                done += bytesWritten;
              }
            }
            current.written += ev.data.length;
            bytes += ev.data.length;
            opts.onBytes?.(ev.data.length);
            break;
          }
          case 'trailer':
            await finish();
            trailer = ev.trailer;
            break;
        }
      }
    }
    decoder.end();
  } finally {
    if (small) fs.closeSync(small.fd);
    if (current) await Promise.all([current.fh.close().catch(() => {}), current.direct?.close().catch(() => {})]);
  }
  if (!header || !trailer) fail('TRUNCATED', 'space stream ended early');
  return { header, trailer, files, bytes };
}

/** Writes what it can of `data` at `pos` directly; returns how much (the caller writes the rest buffered). */
export async function writeDirect(fh: fsp.FileHandle, data: Buffer, pos: number): Promise<number> {
  try {
    return (await fh.write(data, 0, data.length, pos)).bytesWritten;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    return 0;
  }
}

/** Flushes everything written under `dir` to disk (syncfs when available, else per file). */
export async function syncTree(dir: string): Promise<void> {
  const r = spawnSync('sync', ['-f', dir], { stdio: 'ignore' });
  if (r.status === 0) return;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const fd = fs.openSync(p, 'r');
        try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
      }
    }
  };
  await walk(dir);
}
