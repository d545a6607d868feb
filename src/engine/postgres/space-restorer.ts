// Writes a space stream back to files under a root directory. Paths from the stream
// are checked never to leave the root. Files are written in place at their offsets;
// page lists (incrementals) write only the pages they carry.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fail } from '../../common/errors.js';
import { safeJoin } from '../../common/names.js';
import { SpaceStreamDecoder, type FileEntry, type StreamHeader, type StreamTrailer } from './space-stream.js';

export interface RestoreResult {
  readonly header: StreamHeader;
  readonly trailer: StreamTrailer;
  readonly files: number;
  readonly bytes: number;
}

export async function restoreSpaceStream(source: AsyncIterable<Buffer>, root: string, opts: { onBytes?: (n: number) => void; signal?: AbortSignal; writeAs?: ReadonlyMap<string, string> } = {}): Promise<RestoreResult> {
  const decoder = new SpaceStreamDecoder();
  let header: StreamHeader | undefined;
  let trailer: StreamTrailer | undefined;
  let current: { entry: FileEntry; fh: fsp.FileHandle; pageSize: number } | undefined;
  let files = 0;
  let bytes = 0;
  await fsp.mkdir(root, { recursive: true });

  const finish = async () => {
    if (!current) return;
    const { fh, entry } = current;
    current = undefined;
    try {
      // a range never truncates: the other ranges of the file may be written in parallel
      if (entry.offset === undefined) await fh.truncate(entry.size);
    } finally {
      await fh.close();
    }
    await fsp.chmod(safeJoin(root, opts.writeAs?.get(entry.path) ?? entry.path), entry.mode).catch(() => {});
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
            const target = safeJoin(root, opts.writeAs?.get(e.path) ?? e.path);
            files++;
            if (e.type === 'dir') {
              await fsp.mkdir(target, { recursive: true, mode: e.mode || 0o700 });
            } else if (e.type === 'symlink') {
              await fsp.rm(target, { force: true });
              await fsp.symlink(e.target ?? '', target);
            } else {
              await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
              const inPlace = e.pages !== undefined || e.offset !== undefined;
              const fh = await fsp.open(target, inPlace ? fs.constants.O_RDWR | fs.constants.O_CREAT : 'w', 0o600);
              current = { entry: e, fh, pageSize: header?.pageSize ?? 8192 };
            }
            break;
          }
          case 'data': {
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
              let done = 0;
              while (done < ev.data.length) {
                const { bytesWritten } = await fh.write(ev.data, done, ev.data.length - done, pos + done);
                done += bytesWritten;
              }
            }
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
    if (current) await current.fh.close().catch(() => {});
  }
  if (!header || !trailer) fail('TRUNCATED', 'space stream ended early');
  return { header, trailer, files, bytes };
}

/** Flushes everything written under `dir` to disk (syncfs when available, else per file). */
export async function syncTree(dir: string): Promise<void> {
  const { spawnSync } = await import('node:child_process');
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
