// Verify's WAL phase: the backup's own WAL (start to stop), then the WAL after it along the
// newest timeline that passes through it, continuous to the newest archived file (what
// point-in-time restores from it read). One task per file, run in verify's streams; the
// problems are reported in log order. --quick checks the stored checksums only.

import { isOpenbarError } from '../../common/errors.js';
import type { SaveSetInfo } from '../../sm/storage-manager.js';
import type { BarContext } from '../bar-context.js';
import { WalArchive } from '../log/wal-archive.js';
import type { LabelMeta } from '../records/label-record.js';
import { SaveSetKind } from '../records/saveset-kinds.js';
import type { VerifyOptions } from './verify.js';
import type { CheckDraft } from './verify-findings.js';
import type { Phase } from './verify-scan.js';

/** The WAL after a backup: the timeline followed, the problems on it so far, the files present to check, the newest. */
interface After {
  readonly timeline: number;
  readonly pitr: string[];
  readonly present: readonly string[];
  readonly newest: string | undefined;
}

/** The WAL phase of the backup whose label this is: a task per WAL file, and the checks of the backup's WAL and the WAL after it. */
export async function walPhase(ctx: BarContext, label: LabelMeta, opts: VerifyOptions): Promise<Phase<CheckDraft[]>> {
  const stored = await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.wal });
  const byName = new Map(stored.map((s) => [s.name, s]));
  const after = await walAfter(ctx, label, byName);
  // the files are independent: checked in parallel streams, problems reported in log order
  const found = new Map<string, string>();
  const tasks = [...label.walFiles, ...after.present].map((n) => async () => {
    opts.signal?.throwIfAborted();
    const p = await checkWalFile(ctx, n, byName.get(n), label, opts);
    if (p) found.set(n, p);
  });
  return { tasks, finish: () => walChecks(label, after, found) };
}

/** After the backup: continuous along the newest timeline that passes through it, to the newest file on it. */
async function walAfter(ctx: BarContext, label: LabelMeta, byName: ReadonlyMap<string, SaveSetInfo>): Promise<After> {
  const wal = ctx.offline;
  const archive = await WalArchive.load(ctx, label.walSegmentSize);
  const timeline =
    [...archive.timelines.timelines]
      .reverse()
      .find((t) => archive.timelines.holds(t, label.timeline, label.startLsn, label.stopLsn)) ?? label.timeline;
  const pitr: string[] = [...archive.problems];
  if (!archive.timelines.timelines.includes(timeline))
    pitr.push(`timeline ${timeline} of the backup has no history file in the archive: no restore can follow it`);
  for (const g of archive.gaps(timeline, label.startLsn)) {
    pitr.push(
      `WAL file ${g.missing} is missing: point-in-time restores from this backup stop before it${g.resumes ? ` (archived WAL resumes at ${g.resumes})` : ''}`,
    );
  }
  const newest = archive.newestOn(timeline);
  const present: string[] = [];
  if (newest !== undefined) {
    const own = new Set(label.walFiles);
    const end = wal.walPosition(newest)?.position ?? '';
    for (const f of archive.timelines.files(timeline, label.startLsn)) {
      if ((wal.walPosition(f.name)?.position ?? '') > end) break;
      if (!own.has(f.name) && byName.has(f.name)) present.push(f.name);
    }
  }
  return { timeline, pitr, present, newest };
}

/** The problem with one WAL file, if any: missing, unreadable, or (not --quick) pages the engine's check refuses. */
async function checkWalFile(
  ctx: BarContext,
  name: string,
  s: SaveSetInfo | undefined,
  label: LabelMeta,
  opts: VerifyOptions,
): Promise<string | undefined> {
  if (!s) return `WAL file ${name} is missing`;
  const read = opts.signal ? { signal: opts.signal } : {};
  if (opts.quick) {
    return unreadable(name, async () => {
      await ctx.sm.checkStored(s.id, read);
      opts.onBytes?.(s.storedBytes);
    });
  }
  const c = ctx.checker.walFileCheck(name, label.walSegmentSize, label.systemId);
  const damage = await unreadable(name, async () => {
    for await (const chunk of ctx.sm.readChunks(s.id, read)) {
      c.push(chunk);
      opts.onBytes?.(chunk.length);
    }
  });
  if (damage) return damage;
  const problems = c.end();
  return problems.length ? `WAL file ${name}: ${problems[0]}` : undefined;
}

/** Why reading WAL file `name` failed, when its stored records are damaged; other errors abort. */
async function unreadable(name: string, read: () => Promise<void>): Promise<string | undefined> {
  try {
    await read();
    return undefined;
  } catch (err) {
    if (!isOpenbarError(err) || !['CHECKSUM', 'TRUNCATED', 'FORMAT'].includes(err.code)) throw err;
    return `WAL file ${name}: ${err.message}`;
  }
}

/** The checks once every file has been read: the backup's own WAL, and the WAL to latest. */
function walChecks(label: LabelMeta, after: After, found: ReadonlyMap<string, string>): CheckDraft[] {
  const first = label.walFiles[0],
    last = label.walFiles[label.walFiles.length - 1];
  const own = label.walFiles.filter((n) => found.has(n)).map((n) => found.get(n)!);
  const pitr = [...after.pitr, ...after.present.filter((n) => found.has(n)).map((n) => found.get(n)!)];
  return [
    {
      name: 'backup WAL',
      passed: own.length === 0,
      detail: `${label.walFiles.length} file(s), ${first} .. ${last} (start ${label.startLsn}, stop ${label.stopLsn})`,
      problems: own,
    },
    {
      name: 'WAL to latest',
      passed: pitr.length === 0,
      detail:
        after.present.length > 0
          ? `${after.present.length} file(s) after the backup on timeline ${after.timeline}, to ${after.newest}`
          : 'no WAL archived after the backup yet',
      problems: pitr,
    },
  ];
}
