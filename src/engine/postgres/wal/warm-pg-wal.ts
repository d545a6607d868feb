// Brings the WAL a level 1 or 2 will read from pg_wal into the page cache before it is
// read: the segments not yet archived. The reading thread may only read as far as the
// server has flushed, which it learns only once the server has answered; by then the
// file is in memory and is parsed at memory speed, not at the pace of one read at a time.
// Best effort: nothing is kept, nothing fails.

import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseWalFileName, walFileName } from '../format/lsn.js';
import { emptyPageHeader, readPageHeader } from '../format/wal-page.js';

/** reads in flight at once: a cold file is read at the disk's speed, not one latency at a time */
const IN_FLIGHT = 4;
const CHUNK = 1 << 20;

/**
 * Reads, from `fromSegno` on, the segments of `timeline` that the archiver has not
 * finished (`.ready`) and the one being written (after the newest with a status), each
 * up to the first piece whose first page is not of this segment (recycled or unwritten).
 */
export function warmPgWal(pgWal: string, timeline: number, segmentSize: number, fromSegno: bigint): void {
  void (async () => {
    let names: string[];
    try {
      names = await fsp.readdir(path.join(pgWal, 'archive_status'));
    } catch {
      return;
    }
    const ready: bigint[] = [];
    let newest = -1n;
    for (const n of names) {
      const m = /^([0-9A-F]{24})\.(ready|done)$/.exec(n);
      const w = m ? parseWalFileName(m[1]!, segmentSize) : undefined;
      if (!w || w.timeline !== timeline) continue;
      if (w.segno > newest) newest = w.segno;
      if (m![2] === 'ready' && w.segno >= fromSegno) ready.push(w.segno);
    }
    if (newest < 0n) return;
    const wanted = [...ready.sort((a, b) => (a < b ? -1 : 1)), newest + 1n].filter((s) => s >= fromSegno);
    for (const segno of wanted)
      await warmSegment(path.join(pgWal, walFileName(timeline, segno, segmentSize)), segno, segmentSize);
  })().catch(() => {});
}

async function warmSegment(file: string, segno: bigint, segmentSize: number): Promise<void> {
  const fh = await fsp.open(file, 'r').catch(() => undefined);
  if (!fh) return;
  const start = Number(segno) * segmentSize;
  let next = 0;
  let stop = false;
  const one = async (buf: Buffer): Promise<void> => {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const header = emptyPageHeader();
    while (!stop && next < segmentSize) {
      const at = next;
      next += CHUNK;
      const { bytesRead } = await fh.read(buf, 0, CHUNK, at);
      // a first page not of this segment: written no further (the rest is an older segment's, or zeros)
      if (bytesRead < 40 || readPageHeader(view, 0, header).pageAddr !== start + at) stop = true;
    }
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => one(Buffer.allocUnsafe(CHUNK))));
  } finally {
    await fh.close();
  }
}
