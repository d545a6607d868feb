// The Logs pool's WAL as a restore, verify and status see it: which files are stored,
// the timelines their history files describe, and the route a recovery takes from a
// backup to a target along one timeline, with the first file on it that is missing.
// Only reads; what is on a route but not stored is a gap, never the end of the WAL.

import type { ColdRestoreEngine, WalTimelines } from '../../engine/engine.js';
import { readWhole, type SaveSetInfo } from '../../sm/storage-manager.js';
import type { BarContext } from '../bar-context.js';

type WalEngine = Pick<ColdRestoreEngine, 'walTimelines' | 'walPosition' | 'compareLsn'>;

/** Where a route ends. */
export type RouteEnd =
  | { readonly kind: 'lsn'; readonly lsn: string }
  | { readonly kind: 'newest' }
  | { readonly kind: 'time'; readonly ms: number };

export interface RouteFile { readonly name: string; readonly start: string; readonly end: string }

export interface WalRoute {
  readonly timeline: number;
  /** the files recovery reads, in order, up to the first one missing (exclusive) */
  readonly files: readonly RouteFile[];
  /** the first file of the route that is not stored, and how far the WAL before it reaches */
  readonly gap?: { readonly name: string; readonly reached: string };
  /** a time target later than every file stored on the route */
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
  ) {}

  /** The stored WAL of this server, its history files read (their records checked). */
  static async load(ctx: BarContext, engine: WalEngine, segmentSize: number, extra: Iterable<string> = []): Promise<WalArchive> {
    const stored = await ctx.sm.query({ server: ctx.server, kind: 'wal' });
    const byName = new Map<string, SaveSetInfo>();
    for (const s of stored) byName.set(s.name, s); // the newest of a name wins, as restore_command serves it
    const histories = new Map<string, Uint8Array>();
    const unreadable: string[] = [];
    for (const [name, s] of byName) {
      if (engine.walPosition(name)?.kind !== 'history') continue;
      try {
        histories.set(name, await readWhole(ctx.sm, s.id));
      } catch (err) {
        unreadable.push(`timeline history ${name} (save set ${s.id}) cannot be read: ${(err as Error).message}`);
      }
    }
    const { timelines, problems } = engine.walTimelines(histories, segmentSize);
    return new WalArchive(byName, new Set(extra), timelines, [...unreadable, ...problems], engine);
  }

  /** The stored save set of WAL file `name` (the newest of that name). */
  stored(name: string): SaveSetInfo | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name) || this.extra.has(name);
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
    for (const f of this.timelines.files(timeline, fromLsn)) {
      // the backup's own WAL (the files holding bytes before its stop) is needed whatever the target
      const own = files.length === 0 || this.engine.compareLsn(f.start, mustReach) < 0;
      if (!own) {
        if (end.kind === 'lsn' && this.engine.compareLsn(f.start, end.lsn) > 0) break;
        const pastNewest = newest === undefined || this.position(f.name) > this.position(newest);
        if (end.kind === 'newest' && pastNewest) break;
        if (end.kind === 'time' && reached) break;
        if (end.kind === 'time' && pastNewest) return { timeline, files, beyondNewest: true };
      }
      if (!this.has(f.name)) return { timeline, files, gap: { name: f.name, reached: f.start } };
      files.push(f);
      if (end.kind === 'time' && this.reachesTime(f.name, end.ms)) reached = true;
    }
    return { timeline, files };
  }

  /** Every file missing on `timeline`'s path from `fromLsn` to the newest file on it: the gaps after a backup. */
  gaps(timeline: number, fromLsn: string): { missing: string; resumes: string | undefined }[] {
    const newest = this.newestOn(timeline);
    if (newest === undefined) return [];
    const out: { missing: string; resumes: string | undefined }[] = [];
    let open: { missing: string } | undefined;
    for (const f of this.timelines.files(timeline, fromLsn)) {
      if (this.position(f.name) > this.position(newest)) break;
      if (!this.has(f.name)) { open ??= { missing: f.name }; continue; }
      if (open) { out.push({ missing: open.missing, resumes: f.name }); open = undefined; }
    }
    return out;
  }

  /**
   * A file archived at or after `ms` holds the WAL written then (or is later): recovery to
   * that time need read no further. A salvage candidate is newer than anything archived.
   */
  private reachesTime(name: string, ms: number): boolean {
    const s = this.byName.get(name);
    return s === undefined ? this.extra.has(name) : Date.parse(s.committed) >= ms;
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
export function timelineRuns(names: Iterable<string>, engine: Pick<ColdRestoreEngine, 'walPosition' | 'nextWal'>, segmentSize: number): TimelineRun[] {
  const byTl = new Map<number, string[]>();
  for (const n of names) {
    const p = engine.walPosition(n);
    if (p?.kind === 'segment') byTl.set(p.timeline, [...(byTl.get(p.timeline) ?? []), n]);
  }
  return [...byTl.entries()].sort((a, b) => a[0] - b[0]).map(([timeline, list]) => {
    const sorted = [...new Set(list)].sort();
    const gaps: { from: string; to: string; count: number }[] = [];
    for (let i = 1; i < sorted.length; i++) {
      const expected = engine.nextWal(sorted[i - 1]!, segmentSize);
      if (expected === sorted[i]) continue;
      let to = expected;
      let count = 1;
      for (let n = engine.nextWal(expected, segmentSize); n < sorted[i]! && count < 1_000_000; n = engine.nextWal(n, segmentSize)) { to = n; count++; }
      gaps.push({ from: expected, to, count });
    }
    return { timeline, files: sorted.length, first: sorted[0]!, last: sorted[sorted.length - 1]!, gaps };
  });
}
