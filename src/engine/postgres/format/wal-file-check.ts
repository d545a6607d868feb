// The gate every WAL file passes before it enters the archive (log archive, salvage, a
// backup storing its own WAL): a segment is a whole segment of this system whose every
// page header sits where the file's name puts it (magic of a known version, system
// identifier, segment and page size, page address, timeline at most the name's); a
// .partial file's first page and size the same; a .history and a .backup file parse as
// PostgreSQL writes them. Fed the bytes in any chunking; reads only, trusts nothing.

import { parseLsn, parseWalFileName, walFileKind, walFileTimeline, walSegmentName } from './lsn.js';
import { historyFileTimeline, parseTimelineHistory } from './timeline-history.js';
import { WalSegmentCheck } from './wal-segment-check.js';
import { WAL } from './wal-format.js';
import type { WalFileExpectations, WalFileVerdict } from '../../engine.js';
import { checkPageHeader, emptyPageHeader, readPageHeader, sniffWalFormat } from './wal-page.js';
import { SUPPORTED_TEXT } from './server-version.js';
import { WAL_PAGE_SIZE } from './page-size.js';

/** what a .history or .backup file may hold; PostgreSQL's are a few hundred bytes */
const TEXT_LIMIT = 1 << 20;

export type { WalFileExpectations, WalFileVerdict } from '../../engine.js';

export class WalFileCheck {
  private readonly kind: ReturnType<typeof walFileKind>;
  /** the first page (segments) or the whole text (history, backup), gathered */
  private head = Buffer.alloc(0);
  private segment: WalSegmentCheck | undefined;
  private bytes = 0;
  private early: string | undefined;
  /** the first page names another database system */
  private foreign = false;
  private facts: { systemId: string; segmentSize: number } | undefined;

  constructor(
    readonly name: string,
    private readonly expect: WalFileExpectations = {},
  ) {
    this.kind = walFileKind(name);
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    if (this.early !== undefined) return;
    if (this.segment) {
      this.segment.push(chunk);
      return;
    }
    if (this.kind === 'partial') {
      // only its first page is checked
      if (this.head.length < WAL_PAGE_SIZE)
        this.head = Buffer.concat([this.head, chunk.subarray(0, WAL_PAGE_SIZE - this.head.length)]);
      return;
    }
    if (this.kind !== 'segment' && this.head.length + chunk.length > TEXT_LIMIT) {
      this.early = `is larger than ${TEXT_LIMIT} bytes, too large for a ${this.kind ?? 'WAL'} file`;
      return;
    }
    this.head = Buffer.concat([this.head, chunk]);
    if (this.kind === 'segment' && this.head.length >= WAL_PAGE_SIZE) this.startSegment();
  }

  end(): WalFileVerdict {
    const v = this.verdict();
    return !v.ok && this.foreign ? { ...v, foreign: true } : v;
  }

  private verdict(): WalFileVerdict {
    if (this.early !== undefined) return { ok: false, problem: this.early };
    if (this.bytes === 0) return { ok: false, problem: 'is empty' };
    switch (this.kind) {
      case undefined:
        return { ok: false, problem: 'is not a WAL file name' };
      case 'segment':
        return this.endSegment();
      case 'partial':
        return this.endPartial();
      case 'history':
        return this.endHistory();
      case 'backup':
        return this.endBackup();
    }
  }

  /** The first page read: its long header tells the segment size, then every page is checked. */
  private startSegment(): void {
    const first = this.firstPage(this.name);
    if (typeof first === 'string') {
      this.early = first;
      return;
    }
    this.facts = first;
    this.segment = new WalSegmentCheck(this.name, first.segmentSize, first.systemId);
    this.segment.push(this.head);
    this.head = Buffer.alloc(0);
  }

  private endSegment(): WalFileVerdict {
    if (!this.segment) return { ok: false, problem: `is ${this.bytes} bytes, shorter than one WAL page` };
    const problems = this.segment.end();
    const facts = {
      ok: true as const,
      ...this.facts!,
      timeline: parseWalFileName(this.name, this.facts!.segmentSize)!.timeline,
    };
    if (problems.length === 0) return facts;
    // salvage: WAL written to a point in a recycled file; page 0 itself was checked above
    const bad = this.segment.badPage;
    if (this.expect.salvage && bad !== undefined && bad > 0 && this.bytes === this.facts!.segmentSize)
      return { ...facts, validBytes: bad * WAL_PAGE_SIZE };
    return { ok: false, problem: problems[0]! };
  }

  /** A timeline's last segment as it was at a promotion: its first page and its size (the rest may be anything). */
  private endPartial(): WalFileVerdict {
    const base = walSegmentName(this.name);
    if (this.head.length < WAL_PAGE_SIZE)
      return { ok: false, problem: `is ${this.bytes} bytes, shorter than one WAL page` };
    const first = this.firstPage(base);
    if (typeof first === 'string') return { ok: false, problem: first };
    if (this.bytes !== first.segmentSize)
      return { ok: false, problem: `is ${this.bytes} bytes, a segment is ${first.segmentSize}` };
    return { ok: true, ...first, timeline: parseWalFileName(base, first.segmentSize)!.timeline };
  }

  /** The long header of a segment's first page, checked against the name `segName` and what is expected. */
  private firstPage(segName: string): { systemId: string; segmentSize: number } | string {
    const page = this.head.subarray(0, WAL_PAGE_SIZE);
    const format = sniffWalFormat(page);
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    if (!format) return `is not WAL of ${SUPPORTED_TEXT} (first page magic 0x${view.getUint16(0, true).toString(16)})`;
    const h = readPageHeader(view, 0, emptyPageHeader());
    if (!(h.info & WAL.XLP_LONG_HEADER)) return 'its first page has no long header: not the start of a segment';
    const size = h.segSize;
    if (size < 1 << 20 || size > 1 << 30 || (size & (size - 1)) !== 0)
      return `its page header gives segment size ${size}, not a power of two from 1 MB to 1 GB`;
    if (this.expect.segmentSize !== undefined && size !== this.expect.segmentSize)
      return `its segment size is ${size}, this cluster's is ${this.expect.segmentSize}`;
    const sysid = String(h.sysid);
    if (this.expect.systemId !== undefined && sysid !== this.expect.systemId) {
      this.foreign = true;
      return `is from database system ${sysid}, not this cluster's (${this.expect.systemId})`;
    }
    const named = parseWalFileName(segName, size);
    const perLog = 0x100000000 / size;
    if (!named || parseInt(segName.slice(16, 24), 16) >= perLog)
      return `its name does not fit its segment size ${size}`;
    const why = checkPageHeader(h, {
      format,
      pageAddr: Number(named.segno) * size,
      segSize: size,
      pageSize: WAL_PAGE_SIZE,
      sysid: h.sysid,
      minTli: 1,
    });
    if (why) return `page 0: ${why}`;
    if (h.tli > named.timeline) return `page 0 is of timeline ${h.tli}, the name says ${named.timeline}`;
    return { systemId: sysid, segmentSize: size };
  }

  private endHistory(): WalFileVerdict {
    const tli = historyFileTimeline(this.name)!;
    const h = parseTimelineHistory(tli, this.head);
    if ('error' in h) return { ok: false, problem: `is not a timeline history: ${h.error}` };
    return { ok: true, timeline: tli };
  }

  /** A backup history file (pg_backup_stop): its START WAL LOCATION names this file. */
  private endBackup(): WalFileVerdict {
    const text = this.head.toString('utf8');
    const m = /^START WAL LOCATION: ([0-9A-F]{1,8}\/[0-9A-F]{1,8}) \(file ([0-9A-F]{24})\)\n/.exec(text);
    if (!m) return { ok: false, problem: 'is not a backup history file (no START WAL LOCATION line first)' };
    if (!/\nSTOP WAL LOCATION: [0-9A-F]{1,8}\/[0-9A-F]{1,8} \(file [0-9A-F]{24}\)\n/.test(text))
      return { ok: false, problem: 'is not a backup history file (no STOP WAL LOCATION line)' };
    const [segName, offset] = [walSegmentName(this.name), parseInt(this.name.slice(25, 33), 16)];
    if (m[2] !== segName) return { ok: false, problem: `says it starts in ${m[2]}, its name says ${segName}` };
    const size = this.expect.segmentSize;
    if (size !== undefined && Number(parseLsn(m[1]!) % BigInt(size)) !== offset)
      return { ok: false, problem: `says it starts at ${m[1]}, its name says offset ${this.name.slice(25, 33)}` };
    return { ok: true, timeline: walFileTimeline(segName) };
  }
}
