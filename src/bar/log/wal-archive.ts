// The Logs pool's WAL as a restore, verify and status see it: which files are stored,
// the timelines their history files describe, and the route a recovery takes from a
// backup to a target along one timeline, with the first file on it that is missing.
// Only reads; what is on a route but not stored is a gap, never the end of the WAL. A
// route to a time ends after the first file whose last transaction ended after it (its
// summary says when); where no summary says, it runs on to the newest file.

import type { OfflineEngine, WalTimelines } from '../../engine/engine.js';
import { readWhole, type SaveSetInfo } from '../../sm/storage-manager.js';
import type { BarContext } from '../bar-context.js';
import { SaveSetKind } from '../records/saveset-kinds.js';
import { transactionEnds } from './wal-summaries.js';

type WalEngine = Pick<OfflineEngine, 'walTimelines' | 'walPosition' | 'compareLsn'>;

/** Where a route ends. */
export type RouteEnd =
  | { readonly kind: 'lsn'; readonly lsn: string }
  | { readonly kind: 'newest' }
  | { readonly kind: 'time'; readonly ms: number };

export interface RouteFile {
  readonly name: string;
  readonly start: string;
  readonly end: string;
}

export interface WalRoute {
  readonly timeline: number;
  /** the files recovery reads, in order, up to the first one missing (exclusive) */
  readonly files: readonly RouteFile[];
  /**
   * The first file of the route that is not stored, and how far the WAL before it reaches;
   * `targetBeyond`: the target surely lies past it (for a time: every file before it is
   * known to end before the target), so recovery cannot reach the target at all.
   */
  readonly gap?: { readonly name: string; readonly reached: string; readonly targetBeyond: boolean };
  /** a time target later than every transaction the stored WAL of the route holds */
  readonly beyondNewest?: boolean;
}

export class WalArchive {
  private constructor(
    private readonly byName: ReadonlyMap<string, SaveSetInfo>,
    /** files not stored that count as present (salvage candidates a plan would store) */
    private readonly extra: ReadonlySet<string>,
    readonly timelines: WalTimelines,
    /** history files that cannot be used: their timelines stay unknown */
    readonly problems: readonly string[],
    private readonly engine: WalEngine,
    /** per summarized file, when its last transaction ended (null: none did) */
    private readonly ends: ReadonlyMap<string, number | null>,
    /** per timeline, when its history file was archived (ms): when it came to be */
    private readonly born: ReadonlyMap<number, number>,
    /** stored files taken as absent (found damaged) */
    private readonly absent: ReadonlySet<string> = new Set(),
  ) {}

  /** The stored WAL of this server, its history files read (their records checked). */
  static async load(ctx: BarContext, segmentSize: number, extra: Iterable<string> = []): Promise<WalArchive> {
    const engine = ctx.offline;
    const stored = await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.wal });
    const byName = new Map<string, SaveSetInfo>();
    for (const s of stored) byName.set(s.name, s); // the newest of a name wins, as restore_command serves it
    const histories = new Map<string, Uint8Array>();
    const unreadable: string[] = [];
    const born = new Map<number, number>();
    for (const [name, s] of byName) {
      const p = engine.walPosition(name);
      if (p?.kind !== 'history') continue;
      born.set(p.timeline, Date.parse(s.committed));
      try {
        histories.set(name, await readWhole(ctx.sm, s.id));
      } catch (err) {
        unreadable.push(`timeline history ${name} (save set ${s.id}) cannot be read: ${(err as Error).message}`);
      }
    }
    const { timelines, problems } = engine.walTimelines(histories, segmentSize);
    return new WalArchive(
      byName,
      new Set(extra),
      timelines,
      [...unreadable, ...problems],
      engine,
      await transactionEnds(ctx),
      born,
    );
  }

  /** A copy that counts `names` as present too (the files salvage would store). */
  including(names: Iterable<string>): WalArchive {
    return new WalArchive(
      this.byName,
      new Set([...this.extra, ...names]),
      this.timelines,
      this.problems,
      this.engine,
      this.ends,
      this.born,
      this.absent,
    );
  }

  /** A copy that takes `names` as absent (stored, but found damaged): a route stops before them. */
  excluding(names: Iterable<string>): WalArchive {
    return new WalArchive(
      this.byName,
      this.extra,
      this.timelines,
      this.problems,
      this.engine,
      this.ends,
      this.born,
      new Set([...this.absent, ...names]),
    );
  }

  /** When timeline `t`'s history file was archived (ms since the epoch); undefined for timeline 1 and unknown ones. */
  bornAt(t: number): number | undefined {
    return this.born.get(t);
  }

  /** The stored save set of WAL file `name` (the newest of that name). */
  stored(name: string): SaveSetInfo | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return !this.absent.has(name) && (this.byName.has(name) || this.extra.has(name));
  }

  /** The newest segment present on `timeline`'s path. */
  newestOn(timeline: number): string | undefined {
    let best: string | undefined;
    for (const n of [...this.byName.keys(), ...this.extra]) {
      if (this.engine.walPosition(n)?.kind !== 'segment' || !this.timelines.onPath(timeline, n)) continue;
      if (best === undefined || this.position(n) > this.position(best)) best = n;
    }
    return best;
  }

  /**
   * The route of a recovery following `timeline` from `fromLsn` (a backup's start): every
   * file up to at least the one holding `mustReach` (the backup's stop), then on to `end`.
   * Stops at the first file that is not present.
   */
  route(timeline: number, fromLsn: string, mustReach: string, end: RouteEnd): WalRoute {
    const files: RouteFile[] = [];
    const newest = end.kind === 'lsn' ? undefined : this.newestOn(timeline);
    let reached = false;
    /** time: every file so far has a known last transaction, none after the target */
    let before = true;
    for (const f of this.timelines.files(timeline, fromLsn)) {
      // the backup's own WAL (the files holding bytes before its stop) is needed whatever the target
      const own = files.length === 0 || this.engine.compareLsn(f.start, mustReach) < 0;
      if (!own) {
        if (end.kind === 'lsn' && this.engine.compareLsn(f.start, end.lsn) > 0) break;
        const pastNewest = newest === undefined || this.position(f.name) > this.position(newest);
        if (end.kind === 'newest' && pastNewest) break;
        if (end.kind === 'time' && reached) break;
        if (end.kind === 'time' && pastNewest)
          return before || this.archivedBefore(newest, end.ms)
            ? { timeline, files, beyondNewest: true }
            : { timeline, files };
      }
      if (!this.has(f.name))
        return {
          timeline,
          files,
          gap: { name: f.name, reached: f.start, targetBeyond: end.kind === 'lsn' || (end.kind === 'time' && before) },
        };
      files.push(f);
      if (end.kind === 'time') {
        const t = this.ends.get(f.name);
        if (t === undefined) before = false;
        else if (t !== null && t > end.ms) reached = true;
      }
    }
    return { timeline, files };
  }

  /** Whether file `name` was archived before `ms`: all its WAL, and the WAL before it, was written before then. */
  private archivedBefore(name: string | undefined, ms: number): boolean {
    const s = name === undefined ? undefined : this.byName.get(name);
    return s !== undefined && Date.parse(s.committed) < ms;
  }

  /** Every file missing on `timeline`'s path from `fromLsn` to the newest file on it: the gaps after a backup. */
  gaps(timeline: number, fromLsn: string): { missing: string; resumes: string | undefined }[] {
    const newest = this.newestOn(timeline);
    if (newest === undefined) return [];
    const out: { missing: string; resumes: string | undefined }[] = [];
    let open: { missing: string } | undefined;
    for (const f of this.timelines.files(timeline, fromLsn)) {
      if (this.position(f.name) > this.position(newest)) break;
      if (!this.has(f.name)) {
        open ??= { missing: f.name };
        continue;
      }
      if (open) {
        out.push({ missing: open.missing, resumes: f.name });
        open = undefined;
      }
    }
    return out;
  }

  private position(name: string): string {
    return this.engine.walPosition(name)?.position ?? '';
  }
}

/** A timeline's stored segments: how many, the first and last, and the runs missing between them. */
export interface TimelineRun {
  readonly timeline: number;
  readonly files: number;
  readonly first: string;
  readonly last: string;
  /** missing files between first and last: [from, to] inclusive */
  readonly gaps: readonly { readonly from: string; readonly to: string; readonly count: number }[];
}

/** Per timeline, the stored segment names as a range and the gaps in it (for `status`). */
export function timelineRuns(
  names: Iterable<string>,
  engine: Pick<OfflineEngine, 'walPosition' | 'nextWal'>,
  segmentSize: number,
): TimelineRun[] {
  const byTl = new Map<number, string[]>();
  for (const n of names) {
    const p = engine.walPosition(n);
    if (p?.kind === 'segment') byTl.set(p.timeline, [...(byTl.get(p.timeline) ?? []), n]);
  }
  return [...byTl.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([timeline, list]) => {
      const sorted = [...new Set(list)].sort();
      const gaps: { from: string; to: string; count: number }[] = [];
      for (let i = 1; i < sorted.length; i++) {
        const expected = engine.nextWal(sorted[i - 1]!, segmentSize);
        if (expected === sorted[i]) continue;
        let to = expected;
        let count = 1;
        for (
          let n = engine.nextWal(expected, segmentSize);
          n < sorted[i]! && count < 1_000_000;
          n = engine.nextWal(n, segmentSize)
        ) {
          to = n;
          count++;
        }
        gaps.push({ from: expected, to, count });
      }
      return { timeline, files: sorted.length, first: sorted[0]!, last: sorted[sorted.length - 1]!, gaps };
    });
}
