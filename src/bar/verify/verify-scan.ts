// Verify's scan phase (archecker's): every save set of every level of every space's chain
// read once (one task each, run in verify's streams), every record's checksum checked and
// every page by the engine's checker, which notes the pages each file has; then the
// verification of each space's files: complete to their recorded size (the newest level's
// files at their sizes, pages from any level). --quick checks the stored checksums only.

import { isOpenbarError } from '../../common/errors.js';
import type { SpaceCoverage } from '../../engine/engine.js';
import type { BackupCopy } from '../../history/backup-history.js';
import type { BarContext } from '../bar-context.js';
import type { LabelMeta } from '../records/label-record.js';
import { BackupChains } from '../restore/backup-chain.js';
import type { VerifyOptions } from './verify.js';
import type { CheckDraft, Problem } from './verify-findings.js';

/** Work of a phase as independent tasks (one stream each), and its checks once they have all run. */
export interface Phase<R> {
  readonly tasks: (() => Promise<void>)[];
  finish(): R;
}

export interface ScanResult {
  readonly checks: CheckDraft[];
  /** pg_control as the newest level holds it */
  readonly control: Buffer | undefined;
  readonly bytes: number;
  readonly pages: number;
}

interface ScanJob {
  space: string;
  id: number;
  part: number;
  depth: number;
  level: number;
  chained: boolean;
  startLsn: string;
}

/** What the scan of a backup gathers while its tasks run. */
interface Scan {
  readonly ctx: BarContext;
  readonly label: LabelMeta;
  readonly opts: VerifyOptions;
  readonly spaces: BackupCopy['objects'];
  readonly jobs: ScanJob[];
  /** per space: which pages and bytes its save sets hold, the save sets that could not be read, a chain that cannot be resolved */
  readonly cover: Map<string, { coverage: SpaceCoverage; unreadable: number[]; broken: boolean }>;
  readonly setProblems: Problem[];
  readonly pageProblems: Problem[];
  control: Buffer | undefined;
  bytes: number;
  pages: number;
  records: number;
}

/** The scan phase of `backup`: a task per save set, and the checks of the save sets, pages and files. */
export function scanPhase(
  ctx: BarContext,
  backup: BackupCopy,
  label: LabelMeta,
  opts: VerifyOptions,
): Phase<ScanResult> {
  const spaces = backup.objects.filter((o) => o.type === 'R' || o.type === 'D');
  const scan: Scan = {
    ctx,
    label,
    opts,
    spaces,
    jobs: [],
    setProblems: [],
    pageProblems: [],
    control: undefined,
    bytes: 0,
    pages: 0,
    records: 0,
    cover: new Map(spaces.map((s) => [s.name, { coverage: ctx.checker.newCoverage(), unreadable: [], broken: false }])),
  };
  scan.jobs.push(
    ...scanJobs(ctx, spaces, label, (space, problem) => {
      scan.setProblems.push(problem);
      scan.cover.get(space)!.broken = true;
    }),
  );
  return { tasks: scan.jobs.map((j) => () => scanSaveSet(scan, j)), finish: () => scanChecks(scan) };
}

/** Every save set of every level of each space's chain; a chain that cannot be resolved is reported, its newest level still scanned. */
function scanJobs(
  ctx: BarContext,
  spaces: BackupCopy['objects'],
  label: LabelMeta,
  broken: (space: string, problem: string) => void,
): ScanJob[] {
  const chains = new BackupChains(ctx.history.backupInstances());
  const jobs: ScanJob[] = [];
  for (const s of spaces) {
    const c = s.copyIds.length > 0 ? chains.of(s.copyIds[0]!) : { problem: `space ${s.name} has no save set` };
    const levels = 'levels' in c ? c.levels : [{ level: 0, copyIds: s.copyIds, startLsn: label.startLsn }];
    if ('problem' in c) broken(s.name, c.problem);
    levels.forEach((l, depth) =>
      l.copyIds.forEach((id, part) =>
        jobs.push({
          space: s.name,
          id,
          part,
          depth,
          level: l.level,
          chained: levels.length > 1,
          startLsn: depth === 0 ? label.startLsn : (l.startLsn ?? label.startLsn),
        }),
      ),
    );
  }
  return jobs;
}

/** One task: a save set read back (its stored checksums only, --quick) and its damage reported; the verifier goes on after it. */
async function scanSaveSet(scan: Scan, j: ScanJob): Promise<void> {
  const [info] = await scan.ctx.sm.query({ id: j.id });
  if (!info) {
    scan.setProblems.push(
      `save set ${j.id} (space ${j.space}${j.chained ? `, level ${j.level}` : ''}, part ${j.part + 1}) is missing from the storage manager`,
    );
    scan.cover.get(j.space)!.unreadable.push(j.id);
    return;
  }
  try {
    if (scan.opts.quick) {
      await checkStored(scan, j.id, info.storedBytes);
    } else {
      const { pages } = await scanPages(scan, j);
      scan.pages += pages;
    }
    scan.records += info.records;
  } catch (err) {
    if (!isOpenbarError(err) || !['CHECKSUM', 'TRUNCATED', 'FORMAT'].includes(err.code)) throw err;
    scan.setProblems.push(err.message);
    scan.cover.get(j.space)!.unreadable.push(j.id);
  }
}

/** --quick: the stored checksums and totals of a save set, nothing decompressed. */
async function checkStored(scan: Scan, id: number, storedBytes: number): Promise<void> {
  await scan.ctx.sm.checkStored(id, scan.opts.signal ? { signal: scan.opts.signal } : {});
  scan.bytes += storedBytes;
  scan.opts.onBytes?.(storedBytes);
}

/** A save set read whole by the engine's checker: every page checked, every file's pages noted; the findings kept as data. */
async function scanPages(scan: Scan, j: ScanJob): Promise<{ pages: number }> {
  const { ctx, label, opts } = scan;
  return ctx.checker.scanSpace(ctx.sm.readChunks(j.id, opts.signal ? { signal: opts.signal } : {}), {
    space: j.space,
    spaceOid: oidOf(label, j.space),
    startLsn: j.startLsn,
    checksums: label.checksums ?? false,
    coverage: scan.cover.get(j.space)!.coverage,
    depth: j.depth,
    onFinding: (f) => {
      scan.pageProblems.push(f);
    },
    onBytes: (n) => {
      scan.bytes += n;
      opts.onBytes?.(n);
    },
    // the newest level's pg_control is the one restored
    ...(j.depth === 0
      ? {
          onControlFile: (c: Buffer) => {
            scan.control = c;
          },
        }
      : {}),
  });
}

/** The checks once every save set has been read: the save sets, their pages, and the gaps in each space's files. */
function scanChecks(scan: Scan): ScanResult {
  const { label, opts, jobs, setProblems, pageProblems, control, bytes, pages, records } = scan;
  const sets = jobs.length;
  const baseSets = jobs.filter((j) => j.depth > 0).length;
  const ofBase = baseSets ? ` (${baseSets} of base levels)` : '';
  if (opts.quick) {
    return {
      checks: [
        {
          name: 'save sets',
          passed: setProblems.length === 0,
          detail: `${sets} save set(s)${ofBase}, ${records} record(s): stored checksums and totals checked (--quick: content not read)`,
          problems: setProblems,
        },
      ],
      control,
      bytes,
      pages,
    };
  }
  const files = fileChecks(scan);
  return {
    checks: [
      {
        name: 'save sets',
        passed: setProblems.length === 0,
        detail: `${sets} save set(s)${ofBase}, ${records} record(s) read, checksums checked`,
        problems: setProblems,
      },
      {
        name: 'pages',
        passed: pageProblems.length === 0,
        detail: `${pages} page(s) parsed${label.checksums ? ', data checksums checked' : ' (cluster without data checksums: headers only)'}`,
        problems: pageProblems,
      },
      {
        name: 'files complete',
        passed: files.problems.length === 0,
        detail: `${files.count} file(s) in ${scan.spaces.length} space(s)`,
        problems: files.problems,
      },
    ],
    control,
    bytes,
    pages,
  };
}

/** Verification phase of the files: each space's files complete to their recorded size, unless its save sets could not all be read. */
function fileChecks(scan: Scan): { count: number; problems: Problem[] } {
  const problems: Problem[] = [];
  let count = 0;
  for (const s of scan.spaces) {
    const c = scan.cover.get(s.name)!;
    count += c.coverage.fileCount;
    if (c.broken) {
      problems.push(`space ${s.name}: not checked, its chain of levels cannot be resolved`);
      continue;
    }
    if (c.unreadable.length > 0) {
      problems.push(`space ${s.name}: not checked, save set(s) ${c.unreadable.join(', ')} could not be read`);
      continue;
    }
    problems.push(...scan.ctx.checker.coverageGaps(s.name, oidOf(scan.label, s.name), c.coverage));
  }
  return { count, problems };
}

const oidOf = (label: LabelMeta, name: string): number | null => label.spaces.find((s) => s.name === name)?.oid ?? null;
