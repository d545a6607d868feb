// The scan phase of archive validation for one save set of a space: parses the space
// stream, checks every relation page it carries (header sanity and, on clusters with
// checksums, the data checksum), and records which byte ranges of which files the
// stream holds, so the verification phase can tell a missing page from a present one.
// Reads only; memory is a few intervals per file whatever the data size.

import { parseLsn } from '../format/lsn.js';
import { checkChunk, RELSEG_BLOCKS, type PageProblem } from '../format/page.js';
import { relationBlockBase } from '../format/relation-path.js';
import { SpaceStreamDecoder, type FileEntry, type StreamHeader, type StreamTrailer } from '../format/space-stream.js';
import { FileCoverage } from './file-coverage.js';
import { PAGE_SIZE } from '../format/page-size.js';

export interface PageFinding {
  readonly path: string;
  readonly block: number;
  readonly problem: PageProblem;
}

export interface SpaceScanResult {
  readonly header: StreamHeader | undefined;
  readonly trailer: StreamTrailer | undefined;
  readonly files: number;
  readonly pages: number;
  readonly bytes: number;
}

export interface SpaceScanOptions {
  /** pages newer than this were changing during the backup: WAL replay rewrites them */
  readonly startLsn: string;
  readonly checksums: boolean;
  /** shared by all save sets (parts, levels) of one space */
  readonly coverage: FileCoverage;
  /** the save set's level in the space's chain: 0 the newest, 1 its base, … */
  readonly depth?: number;
  readonly onFinding: (f: PageFinding) => void;
  readonly onBytes?: (n: number) => void;
  /** called with the content of the files named, whole (pg_control) */
  readonly capture?: ReadonlyMap<string, (content: Buffer) => void>;
}

export async function scanSpaceStream(source: AsyncIterable<Buffer>, opts: SpaceScanOptions): Promise<SpaceScanResult> {
  const decoder = new SpaceStreamDecoder();
  const start = parseLsn(opts.startLsn);
  let header: StreamHeader | undefined;
  let trailer: StreamTrailer | undefined;
  let files = 0;
  let pages = 0;
  let bytes = 0;
  let cur:
    | {
        entry: FileEntry;
        base: number | undefined;
        carry: Buffer;
        carryLen: number;
        captured: Buffer[] | undefined;
        index: number;
      }
    | undefined;

  const checkPages = (run: Buffer, firstIndex: number) => {
    const c = cur!;
    const blockOf = (i: number) =>
      c.base! + (c.entry.pages ? c.entry.pages[firstIndex + i]! : (c.entry.offset ?? 0) / PAGE_SIZE + firstIndex + i);
    if (c.entry.pages) {
      // page lists: each page checked with its own block number
      const blocks = Array.from({ length: run.length / PAGE_SIZE }, (_, i) => blockOf(i));
      for (const b of checkChunk(run, blocks, `${start}`, opts.checksums).bad)
        opts.onFinding({ path: c.entry.path, block: blocks[b.index]!, problem: b.problem });
    } else {
      for (const b of checkChunk(run, blockOf(0), `${start}`, opts.checksums).bad)
        opts.onFinding({ path: c.entry.path, block: blockOf(b.index), problem: b.problem });
    }
    pages += run.length / PAGE_SIZE;
  };

  const onData = (data: Buffer) => {
    const c = cur!;
    bytes += data.length;
    opts.onBytes?.(data.length);
    c.captured?.push(Buffer.from(data));
    if (c.base === undefined) return;
    let d = data;
    if (c.carryLen > 0) {
      const n = Math.min(PAGE_SIZE - c.carryLen, d.length);
      d.copy(c.carry, c.carryLen, 0, n);
      c.carryLen += n;
      d = d.subarray(n);
      if (c.carryLen < PAGE_SIZE) return;
      checkPages(c.carry, c.index++);
      c.carryLen = 0;
    }
    const whole = d.length - (d.length % PAGE_SIZE);
    if (whole > 0) {
      checkPages(d.subarray(0, whole), c.index);
      c.index += whole / PAGE_SIZE;
    }
    if (whole < d.length) {
      d.copy(c.carry, 0, whole);
      c.carryLen = d.length - whole;
    }
  };

  const endFile = () => {
    if (!cur) return;
    const e = cur.entry;
    if (cur.captured) opts.capture!.get(e.path)!(Buffer.concat(cur.captured));
    cur = undefined;
    if (e.type !== 'file') return;
    if (e.pages) opts.coverage.addPages(e.path, e.size, e.pages, PAGE_SIZE);
    else opts.coverage.addRange(e.path, e.size, e.offset ?? 0, e.length ?? e.size);
  };

  for await (const chunk of source) {
    for (const ev of decoder.push(chunk)) {
      switch (ev.kind) {
        case 'header':
          header = ev.header;
          break;
        case 'entry':
          endFile();
          files++;
          cur = {
            entry: ev.entry,
            base: ev.entry.type === 'file' ? relationBlockBase(ev.entry.path, RELSEG_BLOCKS) : undefined,
            carry: Buffer.allocUnsafe(PAGE_SIZE),
            carryLen: 0,
            index: 0,
            captured: opts.capture?.has(ev.entry.path) ? [] : undefined,
          };
          opts.coverage.declare(
            ev.entry.path,
            ev.entry.type === 'file' ? ev.entry.size : 0,
            cur.base !== undefined,
            opts.depth ?? 0,
          );
          break;
        case 'data':
          onData(ev.data);
          break;
        case 'trailer':
          endFile();
          trailer = ev.trailer;
          break;
      }
    }
  }
  decoder.end();
  return { header, trailer, files, pages, bytes };
}
