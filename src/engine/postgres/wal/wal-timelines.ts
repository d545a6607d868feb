// What a recovery that follows one timeline reads, as PostgreSQL decides it: the
// timeline's history (expectedTLEs) says which timeline each WAL position was written on,
// and a segment is read from the newest timeline of the path that had begun by that
// segment (XLogFileReadAnyTLI), so the segment where a timeline forks is its child's copy.
// Pure: it is given the archive's parsed history files and names files; it reads nothing.

import { segmentOf, walFileName, parseWalFileName, type Lsn } from '../format/lsn.js';
import type { TimelineHistory } from '../format/timeline-history.js';

/** One stretch of a timeline's path: `timeline` was current from `begin` to `end` (undefined: still). */
export interface PathEntry {
  readonly timeline: number;
  readonly begin: Lsn;
  readonly end: Lsn | undefined;
}

/** A WAL segment of a path: its name and the positions it holds, [start, end). */
export interface PathFile {
  readonly name: string;
  readonly start: Lsn;
  readonly end: Lsn;
}

export class WalTimelineMap {
  private readonly histories = new Map<number, TimelineHistory>();

  constructor(
    histories: Iterable<TimelineHistory>,
    readonly segmentSize: number,
  ) {
    for (const h of histories) this.histories.set(h.timeline, h);
  }

  /** Timeline 1 and every timeline with a history file, ascending. */
  get timelines(): number[] {
    return [1, ...[...this.histories.keys()].filter((t) => t > 1).sort((a, b) => a - b)];
  }

  known(timeline: number): boolean {
    return timeline === 1 || this.histories.has(timeline);
  }

  /** The path that ends on `timeline`, oldest first; undefined when its history is not known. */
  path(timeline: number): PathEntry[] | undefined {
    if (timeline === 1) return [{ timeline: 1, begin: 0n, end: undefined }];
    const h = this.histories.get(timeline);
    if (!h) return undefined;
    const out: PathEntry[] = [];
    let begin = 0n;
    for (const a of h.ancestors) {
      out.push({ timeline: a.timeline, begin, end: a.end });
      begin = a.end;
    }
    out.push({ timeline, begin, end: undefined });
    return out;
  }

  /** The timeline of `timeline`'s path current at `lsn` (tliOfPointInHistory). */
  timelineAt(timeline: number, lsn: Lsn): number | undefined {
    return this.path(timeline)?.find((e) => e.begin <= lsn && (e.end === undefined || lsn < e.end))?.timeline;
  }

  /**
   * Whether recovery following `timeline` passes through [from, to] written on `on` (a
   * backup's start to its stop on its own timeline): `on` is on the path and was current
   * for the whole range (a fork at `to` itself is after it).
   */
  holds(timeline: number, on: number, from: Lsn, to: Lsn): boolean {
    const e = this.path(timeline)?.find((x) => x.timeline === on);
    return e !== undefined && e.begin <= from && (e.end === undefined || to <= e.end);
  }

  /** The name of segment `segno` as recovery following `timeline` reads it. */
  fileFor(timeline: number, segno: bigint): string | undefined {
    const path = this.path(timeline);
    if (!path) return undefined;
    for (let i = path.length - 1; i >= 0; i--) {
      const e = path[i]!;
      if (segmentOf(e.begin, this.segmentSize) <= segno) return walFileName(e.timeline, segno, this.segmentSize);
    }
    return undefined;
  }

  /** Whether segment file `name` is one recovery following `timeline` reads. */
  onPath(timeline: number, name: string): boolean {
    const w = parseWalFileName(name, this.segmentSize);
    return w !== undefined && this.fileFor(timeline, w.segno) === name;
  }

  /** The segments recovery following `timeline` reads from the one holding `from` on, in order (endless). */
  *files(timeline: number, from: Lsn): Generator<PathFile> {
    const size = BigInt(this.segmentSize);
    for (let segno = segmentOf(from, this.segmentSize); ; segno++) {
      const name = this.fileFor(timeline, segno);
      if (name === undefined) return;
      yield { name, start: segno * size, end: (segno + 1n) * size };
    }
  }
}
