// `openbar verify` (archecker): a backup nobody has checked is a hope, not a backup.
// Scan phase: every record of every save set the backup needs (for a level 1 or 2, those
// of every level of each space's chain) is read and its checksum checked, every page
// parsed and checked, and which pages each file has is noted.
// Verification phase: every file complete to its recorded size, pg_control valid and of
// this system, the backup's own WAL present and sound, and the WAL after it continuous
// to the newest archived file (for point-in-time restores). Every problem is reported
// as data and the verifier goes on; the result is recorded on the backup's instances.

import { fail, isOpenbarError } from '../../common/errors.js';
import { warmCodecPool } from '../../common/io/codec-pool.js';
import { runParallel } from '../../common/run-parallel.js';
import { readWhole } from '../../sm/storage-manager.js';
import { trace } from '../../common/trace.js';
import type { ArchiveChecker, ArchiveFinding, SpaceCoverage } from '../../engine/engine.js';
import type { BackupCopy } from '../../history/backup-history.js';
import type { BarContext } from '../bar-context.js';
import { BackupChains } from '../restore/backup-chain.js';
import { decodeLabelContent, decodeLabelMeta, type LabelMeta } from '../records/label-record.js';
import { SaveSetKind } from '../records/saveset-kinds.js';
import { WalArchive } from '../log/wal-archive.js';
import { isoTime } from '../../common/units.js';

export interface VerifyCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
  readonly problems: readonly string[];
}

export interface VerifyReport {
  readonly backup: number;
  readonly level: number;
  readonly time: string;
  readonly startLsn: string;
  readonly stopLsn: string;
  readonly checks: readonly VerifyCheck[];
  readonly passed: boolean;
  readonly bytes: number;
  readonly pages: number;
  readonly ms: number;
  /** media checks only (VerifyOptions.quick) */
  readonly quick: boolean;
}

export interface VerifyOptions {
  readonly backup: number | 'latest';
  /**
   * Media checks only: every record's stored checksum and every save set's totals, and
   * the WAL present and continuous; nothing decompressed, no page, file, pg_control or
   * WAL page header checked. Not recorded as a verification of the backup.
   */
  readonly quick?: boolean;
  readonly signal?: AbortSignal;
  readonly onBytes?: (n: number) => void;
}

export async function runVerify(ctx: BarContext, opts: VerifyOptions): Promise<VerifyReport> {
  const checker = ctx.checker;
  const started = Date.now();
  trace('verify: begin');
  if (!opts.quick) warmCodecPool(); // the workers start while the history and the label are read
  const backup = pickBackup(ctx, opts.backup);
  const aid = ctx.history.beginAction('verify', backup.level, { backup: backup.aid });
  try {
    const labelId = backup.objects.find((o) => o.type === 'B')!.copyIds[0]!;
    const labelProblem = await readLabelSet(ctx, labelId);
    const checks: VerifyCheck[] = [];
    let scan: ScanResult | undefined;
    if (labelProblem) {
      // without its label the backup cannot be restored, nor its WAL range known
      checks.push({ name: 'save sets', passed: false, detail: 'the backup label save set is unreadable', problems: [labelProblem] });
    } else {
      const label = decodeLabelMeta((await ctx.sm.query({ id: labelId }))[0]!, { server: ctx.server, aid: backup.aid });
      trace('verify: label read');
      const scanning = scanPhase(ctx, checker, backup, label, opts);
      const walking = await walPhase(ctx, checker, label, opts);
      // one queue of max_backup streams: a stream done with the save sets goes on to the WAL
      // files while the others finish theirs, so no core waits for the slowest save set
      await runParallel([...scanning.tasks, ...walking.tasks], Math.max(1, ctx.settings.max_backup), (task) => task());
      trace('verify: save sets and WAL read');
      scan = scanning.finish();
      checks.push(...scan.checks);
      if (!opts.quick) checks.push(controlCheck(checker, scan.control, label, backup));
      checks.push(...walking.finish());
      await nameRelations(ctx, checks, scan.findings);
    }

    const passed = checks.every((c) => c.passed);
    const report: VerifyReport = {
      backup: backup.aid, level: backup.level, time: backup.time, startLsn: backup.startLsn, stopLsn: backup.stopLsn,
      checks, passed, bytes: scan?.bytes ?? 0, pages: scan?.pages ?? 0, ms: Date.now() - started, quick: opts.quick === true,
    };
    // a quick pass proves the media, not the backup: only a full verify counts on the backup
    if (!opts.quick) ctx.history.recordVerify(backup.aid, passed, isoTime());
    const problems = checks.reduce((a, c) => a + c.problems.length, 0);
    ctx.history.endAction(aid, passed ? 0 : 3, passed ? 'passed' : `${problems} problem(s)`, { backup: backup.aid, passed, problems, bytes: report.bytes, pages: report.pages });
    ctx.log.info(`verify ${aid}: backup ${backup.aid} ${passed ? 'PASSED' : `FAILED with ${problems} problem(s)`}${opts.quick ? ' (quick: stored checksums)' : `; ${report.pages} pages, ${report.bytes} bytes read`}`);
    trace('verify: recorded');
    return report;
  } catch (err) {
    ctx.history.endAction(aid, 1, (err as Error).message);
    throw err;
  }
}

/** Reads the label save set whole (its records checked) and decodes its content; why it cannot be used, if it cannot. */
async function readLabelSet(ctx: BarContext, id: number): Promise<string | undefined> {
  if ((await ctx.sm.query({ id })).length === 0) return `the backup label save set ${id} is missing from the storage manager`;
  let content: Buffer;
  try {
    content = await readWhole(ctx.sm, id);
  } catch (err) {
    if (isOpenbarError(err) && !['CHECKSUM', 'TRUNCATED', 'FORMAT'].includes(err.code)) throw err;
    return `backup label save set ${id}: ${(err as Error).message}`;
  }
  try {
    decodeLabelContent(content, id);
    return undefined;
  } catch (err) {
    if (!isOpenbarError(err, 'FORMAT')) throw err;
    return err.message;
  }
}

function pickBackup(ctx: BarContext, which: number | 'latest'): BackupCopy {
  const all = ctx.history.backups();
  if (all.length === 0) fail('UNREACHABLE', `no backup of server ${ctx.server} is recorded`, 'take one with `openbar backup`');
  if (which === 'latest') return all[all.length - 1]!;
  return all.find((b) => b.aid === which) ?? fail('NOT_FOUND', `no backup ${which} of server ${ctx.server}`, `backups: ${all.map((b) => b.aid).join(', ')}`);
}

interface ScanResult {
  readonly checks: VerifyCheck[];
  readonly findings: Map<ArchiveFinding, string>;
  readonly control: Buffer | undefined;
  readonly bytes: number;
  readonly pages: number;
}

interface ScanJob { space: string; id: number; part: number; depth: number; level: number; chained: boolean; startLsn: string }

/** Work of a phase as independent tasks (one stream each), and its checks once they have all run. */
interface Phase<R> {
  readonly tasks: (() => Promise<void>)[];
  finish(): R;
}

/**
 * Reads every save set of every level of every space's chain once (one task each), then
 * asks for the gaps: the newest level's files at their sizes, pages from any level.
 */
function scanPhase(ctx: BarContext, checker: ArchiveChecker, backup: BackupCopy, label: LabelMeta, opts: VerifyOptions): Phase<ScanResult> {
  const setProblems: string[] = [];
  const pageProblems: string[] = [];
  const fileProblems: string[] = [];
  const findings = new Map<ArchiveFinding, string>();
  let control: Buffer | undefined;
  let bytes = 0;
  let pages = 0;
  let records = 0;
  const spaces = backup.objects.filter((o) => o.type === 'R' || o.type === 'D');
  const cover = new Map<string, { coverage: SpaceCoverage; unreadable: number[]; broken: boolean }>(spaces.map((s) => [s.name, { coverage: checker.newCoverage(), unreadable: [], broken: false }]));
  const oidOf = (name: string) => label.spaces.find((s) => s.name === name)?.oid ?? null;
  const jobs = scanJobs(ctx, spaces, label, (space, problem) => { setProblems.push(problem); cover.get(space)!.broken = true; });
  const scan = async (j: ScanJob) => {
    const [info] = await ctx.sm.query({ id: j.id });
    if (!info) {
      setProblems.push(`save set ${j.id} (space ${j.space}${j.chained ? `, level ${j.level}` : ''}, part ${j.part + 1}) is missing from the storage manager`);
      cover.get(j.space)!.unreadable.push(j.id);
      return;
    }
    try {
      if (opts.quick) {
        await ctx.sm.checkStored(j.id, opts.signal ? { signal: opts.signal } : {});
        records += info.records;
        bytes += info.storedBytes;
        opts.onBytes?.(info.storedBytes);
        return;
      }
      const r = await checker.scanSpace(ctx.sm.readChunks(j.id, opts.signal ? { signal: opts.signal } : {}), {
        space: j.space, spaceOid: oidOf(j.space), startLsn: j.startLsn, checksums: label.checksums ?? false,
        coverage: cover.get(j.space)!.coverage, depth: j.depth,
        onFinding: (f) => { const line = describe(f); findings.set(f, line); pageProblems.push(line); },
        onBytes: (n) => { bytes += n; opts.onBytes?.(n); },
        // the newest level's pg_control is the one restored
        ...(j.depth === 0 ? { onControlFile: (c: Buffer) => { control = c; } } : {}),
      });
      pages += r.pages;
      records += info.records;
    } catch (err) {
      if (!isOpenbarError(err) || !['CHECKSUM', 'TRUNCATED', 'FORMAT'].includes(err.code)) throw err;
      setProblems.push(err.message);
      cover.get(j.space)!.unreadable.push(j.id);
    }
  };
  return { tasks: jobs.map((j) => () => scan(j)), finish: scanChecks };

  /** The checks once every save set has been read: gaps in each space's files. */
  function scanChecks(): ScanResult {
    let files = 0;
    for (const s of spaces) {
      const c = cover.get(s.name)!;
      files += c.coverage.fileCount;
      if (c.broken) {
        fileProblems.push(`space ${s.name}: not checked, its chain of levels cannot be resolved`);
        continue;
      }
      if (c.unreadable.length > 0) {
        fileProblems.push(`space ${s.name}: not checked, save set(s) ${c.unreadable.join(', ')} could not be read`);
        continue;
      }
      for (const f of checker.coverageGaps(s.name, oidOf(s.name), c.coverage)) {
        const line = describe(f);
        findings.set(f, line);
        fileProblems.push(line);
      }
    }
    const sets = jobs.length;
    const baseSets = jobs.filter((j) => j.depth > 0).length;
    if (opts.quick) {
      return {
        checks: [{ name: 'save sets', passed: setProblems.length === 0, detail: `${sets} save set(s)${baseSets ? ` (${baseSets} of base levels)` : ''}, ${records} record(s): stored checksums and totals checked (--quick: content not read)`, problems: setProblems }],
        findings, control, bytes, pages,
      };
    }
    return {
      checks: [
        { name: 'save sets', passed: setProblems.length === 0, detail: `${sets} save set(s)${baseSets ? ` (${baseSets} of base levels)` : ''}, ${records} record(s) read, checksums checked`, problems: setProblems },
        { name: 'pages', passed: pageProblems.length === 0, detail: `${pages} page(s) parsed${label.checksums ? ', data checksums checked' : ' (cluster without data checksums: headers only)'}`, problems: pageProblems },
        { name: 'files complete', passed: fileProblems.length === 0, detail: `${files} file(s) in ${spaces.length} space(s)`, problems: fileProblems },
      ],
      findings, control, bytes, pages,
    };
  }
}

/** Every save set of every level of each space's chain; a chain that cannot be resolved is reported, its newest level still scanned. */
function scanJobs(ctx: BarContext, spaces: BackupCopy['objects'], label: LabelMeta, broken: (space: string, problem: string) => void): ScanJob[] {
  const chains = new BackupChains(ctx.history.backupInstances());
  const jobs: ScanJob[] = [];
  for (const s of spaces) {
    const c = s.copyIds.length > 0 ? chains.of(s.copyIds[0]!) : { problem: `space ${s.name} has no save set` };
    const levels = 'levels' in c ? c.levels : [{ level: 0, copyIds: s.copyIds, startLsn: label.startLsn }];
    if ('problem' in c) broken(s.name, c.problem);
    levels.forEach((l, depth) => l.copyIds.forEach((id, part) => jobs.push({
      space: s.name, id, part, depth, level: l.level, chained: levels.length > 1, startLsn: depth === 0 ? label.startLsn : l.startLsn ?? label.startLsn,
    })));
  }
  return jobs;
}

function controlCheck(checker: ArchiveChecker, control: Buffer | undefined, label: LabelMeta, backup: BackupCopy): VerifyCheck {
  const name = 'pg_control';
  if (!backup.objects.some((o) => o.type === 'R')) return { name, passed: true, detail: 'not in this backup (pg_global not backed up)', problems: [] };
  if (!control) return { name, passed: false, detail: 'missing', problems: ['global/pg_control is not in the pg_global save set'] };
  const why = checker.checkControlFile(control, label.systemId);
  return why ? { name, passed: false, detail: 'damaged or foreign', problems: [`global/pg_control: ${why}`] } : { name, passed: true, detail: `valid, system ${label.systemId}`, problems: [] };
}

/** The backup's own WAL (start to stop), then the WAL after it to the newest archived file: one task per file. */
async function walPhase(ctx: BarContext, checker: ArchiveChecker, label: LabelMeta, opts: VerifyOptions): Promise<Phase<VerifyCheck[]>> {
  const wal = ctx.offline;
  const stored = await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.wal });
  const byName = new Map(stored.map((s) => [s.name, s]));
  const checkFile = async (name: string): Promise<string | undefined> => {
    const s = byName.get(name);
    if (!s) return `WAL file ${name} is missing`;
    if (opts.quick) {
      try {
        await ctx.sm.checkStored(s.id, opts.signal ? { signal: opts.signal } : {});
        opts.onBytes?.(s.storedBytes);
        return undefined;
      } catch (err) {
        if (!isOpenbarError(err) || !['CHECKSUM', 'TRUNCATED', 'FORMAT'].includes(err.code)) throw err;
        return `WAL file ${name}: ${err.message}`;
      }
    }
    const c = checker.walFileCheck(name, label.walSegmentSize, label.systemId);
    try {
      for await (const chunk of ctx.sm.readChunks(s.id, opts.signal ? { signal: opts.signal } : {})) { c.push(chunk); opts.onBytes?.(chunk.length); }
    } catch (err) {
      if (!isOpenbarError(err) || !['CHECKSUM', 'TRUNCATED', 'FORMAT'].includes(err.code)) throw err;
      return `WAL file ${name}: ${err.message}`;
    }
    const problems = c.end();
    return problems.length ? `WAL file ${name}: ${problems[0]}` : undefined;
  };
  const first = label.walFiles[0], last = label.walFiles[label.walFiles.length - 1];

  // after the backup: continuous along the newest timeline that passes through it, to the newest file on it
  const archive = await WalArchive.load(ctx, label.walSegmentSize);
  const tl = [...archive.timelines.timelines].reverse().find((t) => archive.timelines.holds(t, label.timeline, label.startLsn, label.stopLsn)) ?? label.timeline;
  const pitr: string[] = [...archive.problems];
  if (!archive.timelines.timelines.includes(tl)) pitr.push(`timeline ${tl} of the backup has no history file in the archive: no restore can follow it`);
  for (const g of archive.gaps(tl, label.startLsn)) {
    pitr.push(`WAL file ${g.missing} is missing: point-in-time restores from this backup stop before it${g.resumes ? ` (archived WAL resumes at ${g.resumes})` : ''}`);
  }
  const newest = archive.newestOn(tl);
  const present: string[] = [];
  if (newest !== undefined) {
    const own = new Set(label.walFiles);
    const end = wal.walPosition(newest)?.position ?? '';
    for (const f of archive.timelines.files(tl, label.startLsn)) {
      if ((wal.walPosition(f.name)?.position ?? '') > end) break;
      if (!own.has(f.name) && byName.has(f.name)) present.push(f.name);
    }
  }
  // the files are independent: checked in parallel streams, problems reported in log order
  const found = new Map<string, string>();
  const tasks = [...label.walFiles, ...present].map((n) => async () => {
    opts.signal?.throwIfAborted();
    const p = await checkFile(n);
    if (p) found.set(n, p);
  });
  const finish = (): VerifyCheck[] => {
    const own = label.walFiles.filter((n) => found.has(n)).map((n) => found.get(n)!);
    for (const n of present) if (found.has(n)) pitr.push(found.get(n)!);
    return [
      { name: 'backup WAL', passed: own.length === 0, detail: `${label.walFiles.length} file(s), ${first} .. ${last} (start ${label.startLsn}, stop ${label.stopLsn})`, problems: own },
      {
        name: 'WAL to latest', passed: pitr.length === 0,
        detail: present.length > 0 ? `${present.length} file(s) after the backup on timeline ${tl}, to ${newest}` : 'no WAL archived after the backup yet', problems: pitr,
      },
    ];
  };
  return { tasks, finish };
}

function describe(f: ArchiveFinding): string {
  const r = f.relation;
  const where = r
    ? `space ${f.space}, database ${r.dbOid === 0 ? '(shared)' : r.dbOid}, relfilenode ${r.relfilenode}${r.fork !== 'main' ? ` fork ${r.fork}` : ''}`
    : `space ${f.space}, file ${f.path}`;
  const page = f.block === undefined ? '' : f.lastBlock !== undefined ? `, pages ${f.block}..${f.lastBlock}` : `, page ${f.block}`;
  return `${where}${page}: ${f.problem}${r ? ` (file ${f.path})` : ''}`;
}

/** Adds database and relation names from the server when it is reachable (best effort, bounded in time). */
async function nameRelations(ctx: BarContext, checks: VerifyCheck[], findings: Map<ArchiveFinding, string>): Promise<void> {
  const refs = [...findings.keys()].filter((f) => f.relation).slice(0, 1000);
  if (refs.length === 0) return;
  let names: Map<string, { database: string; relation: string | null }>;
  try {
    const engine = ctx.engine();
    names = await Promise.race([
      engine.relationNames(refs.map((f) => f.relation!)),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000).unref()),
    ]);
  } catch {
    return; // server down: the oids stand
  }
  const renamed = new Map<string, string>();
  for (const f of refs) {
    const n = names.get(`${f.relation!.dbOid}/${f.relation!.relfilenode}`);
    if (!n) continue;
    const before = findings.get(f)!;
    const after = before.replace(`database ${f.relation!.dbOid === 0 ? '(shared)' : f.relation!.dbOid}, relfilenode ${f.relation!.relfilenode}`,
      `database ${f.relation!.dbOid === 0 ? '(shared)' : `${f.relation!.dbOid} (${n.database})`}, relation ${n.relation ?? '(dropped since)'} (relfilenode ${f.relation!.relfilenode})`);
    renamed.set(before, after);
  }
  for (const c of checks) (c.problems as string[]).forEach((p, i, arr) => { const r = renamed.get(p); if (r) arr[i] = r; });
}
