// Hand-made level 1/2 space streams for the chain tests, independent of the backup
// side: a real level-0 stream re-encoded as an incremental, relation files as page lists
// holding only the pages whose LSN is at or after the base's start (and all-zero pages,
// as the scan method keeps them), every other file whole, free space and visibility maps
// too (their pages change without WAL: a cleared visibility bit leaves the map page's LSN
// as it was, so the LSN says nothing). Test-only: whole streams in memory.

import { parseLsn } from '../../src/engine/postgres/format/lsn.js';
import { isAllZero, pageLsn, RELSEG_BLOCKS } from '../../src/engine/postgres/format/page.js';
import { relationBlockBase } from '../../src/engine/postgres/format/relation-path.js';
import {
  encodeEntry,
  encodeHeader,
  encodeTrailer,
  SpaceStreamDecoder,
  type FileEntry,
  type StreamHeader,
} from '../../src/engine/postgres/format/space-stream.js';

const PAGE = 8192;

export interface IncrementalOptions {
  readonly level: number;
  /** the base backup's start LSN */
  readonly baseLsn: string;
  /** most pages per entry (a file then has several entries, as the scan method makes) */
  readonly window?: number;
  /** files whose recorded size is changed (damage: pages nothing supplies) */
  readonly resize?: ReadonlyMap<string, number>;
}

/** The stream's header and entries with their content. */
export function decodeStream(content: Buffer): { header: StreamHeader; entries: { entry: FileEntry; data: Buffer }[] } {
  const d = new SpaceStreamDecoder();
  let header: StreamHeader | undefined;
  const entries: { entry: FileEntry; data: Buffer[] }[] = [];
  for (const ev of d.push(content)) {
    if (ev.kind === 'header') header = ev.header;
    else if (ev.kind === 'entry') entries.push({ entry: ev.entry, data: [] });
    else if (ev.kind === 'data') entries[entries.length - 1]!.data.push(Buffer.from(ev.data));
  }
  d.end();
  return { header: header!, entries: entries.map((e) => ({ entry: e.entry, data: Buffer.concat(e.data) })) };
}

/** The level-N stream of a level-0 stream, and per relation file the blocks it kept. */
export function incrementalFrom(
  level0: Buffer,
  o: IncrementalOptions,
): { content: Buffer; kept: Map<string, number[]> } {
  const { header, entries } = decodeStream(level0);
  const base = parseLsn(o.baseLsn);
  const window = o.window ?? 64;
  const out: Buffer[] = [encodeHeader({ ...header, level: o.level, baseLsn: o.baseLsn } as StreamHeader)];
  const kept = new Map<string, number[]>();
  let files = 0;
  let bytes = 0;
  for (const { entry, data } of entries) {
    const size = o.resize?.get(entry.path) ?? entry.size;
    if (
      entry.type !== 'file' ||
      relationBlockBase(entry.path, RELSEG_BLOCKS) === undefined ||
      /_(fsm|vm)(\.\d+)?$/.test(entry.path)
    ) {
      out.push(encodeEntry({ ...entry, size }), data);
      files++;
      bytes += data.length;
      continue;
    }
    const first = (entry.offset ?? 0) / PAGE;
    const picked: number[] = [];
    for (let i = 0; i * PAGE < data.length; i++) {
      const page = data.subarray(i * PAGE, (i + 1) * PAGE);
      if (pageLsn(page) >= base || isAllZero(page)) picked.push(i);
    }
    kept.set(entry.path, [...(kept.get(entry.path) ?? []), ...picked.map((i) => first + i)]);
    const head: FileEntry = { path: entry.path, type: 'file', mode: entry.mode, mtimeMs: entry.mtimeMs, size };
    // every file gets an entry, in the part holding its start
    if (picked.length === 0 && first === 0) out.push(encodeEntry({ ...head, pages: [] }));
    for (let w = 0; w < picked.length; w += window) {
      const list = picked.slice(w, w + window);
      out.push(
        encodeEntry({ ...head, pages: list.map((i) => first + i) }),
        ...list.map((i) => data.subarray(i * PAGE, (i + 1) * PAGE)),
      );
      bytes += list.length * PAGE;
    }
    files++;
  }
  out.push(encodeTrailer({ files, bytes, badPages: 0 }));
  return { content: Buffer.concat(out), kept };
}

/** A stream of decoded entries (a damaged copy of one, say) encoded again. */
export function encodeStream(header: StreamHeader, entries: readonly { entry: FileEntry; data: Buffer }[]): Buffer {
  const bytes = entries.reduce((a, e) => a + e.data.length, 0);
  return Buffer.concat([
    encodeHeader(header),
    ...entries.flatMap((e) => [encodeEntry(e.entry), e.data]),
    encodeTrailer({ files: entries.length, bytes, badPages: 0 }),
  ]);
}
