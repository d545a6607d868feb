// `openbar verify` (archecker): a backup nobody has checked is a hope, not a backup.
// Scan phase: every record of every save set the backup needs (for a level 1 or 2, those
// of every level of each space's chain) is read and its checksum checked, every page
// parsed and checked, and which pages each file has is noted.
// Verification phase: every file complete to its recorded size, pg_control valid and of
// this system, the backup's own WAL present and sound, and the WAL after it continuous
// to the newest archived file (for point-in-time restores). Every problem is reported
// as data and the verifier goes on; the result is recorded on the backup's instances.
// runVerify reads as its steps; the phases are verify-scan.ts and verify-wal.ts, their
// tasks run in one queue of streams, and the findings stay data (verify-findings.ts) until
// the report is made.

import { fail, isOpenbarError } from '../../common/errors.js';
import { warmCodecPool } from '../../common/io/codec-pool.js';
import { runParallel } from '../../common/run-parallel.js';
import { readWhole } from '../../sm/storage-manager.js';
import { trace } from '../../common/trace.js';
import { isoTime } from '../../common/units.js';
import type { ArchiveChecker } from '../../engine/engine.js';
import type { BackupCopy } from '../../history/backup-history.js';
import type { BarContext } from '../bar-context.js';
import { decodeLabelContent, decodeLabelMeta, type LabelMeta } from '../records/label-record.js';
import { nameRelations, renderChecks, type CheckDraft, type VerifyCheck } from './verify-findings.js';
import { scanPhase, type Phase, type ScanResult } from './verify-scan.js';
import { walPhase } from './verify-wal.js';

export type { VerifyCheck, VerifyFinding } from './verify-findings.js';

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
  const started = Date.now();
  trace('verify: begin');
  if (!opts.quick) warmCodecPool(); // the workers start while the history and the label are read
  const backup = pickBackup(ctx, opts.backup);
  const aid = ctx.history.beginAction('verify', backup.level, { backup: backup.aid });
  try {
    const found = await checkBackup(ctx, backup, opts);
    const report = reportOf(backup, found, started, opts);
    recordResult(ctx, aid, report, opts);
    return report;
  } catch (err) {
    ctx.history.endAction(aid, 1, (err as Error).message);
    throw err;
  }
}

/** What the phases found: the checks, their findings still data, and what the scan read. */
interface Found {
  readonly checks: CheckDraft[];
  readonly scan?: ScanResult;
}

/**
 * Step: the backup read back and checked. Without its label it cannot be restored, nor its
 * WAL range known: that is the one check then. Else the scan and WAL phases, the control
 * file, and the relations the findings are in named.
 */
async function checkBackup(ctx: BarContext, backup: BackupCopy, opts: VerifyOptions): Promise<Found> {
  const labelId = backup.objects.find((o) => o.type === 'B')!.copyIds[0]!;
  const labelProblem = await readLabelSet(ctx, labelId);
  if (labelProblem)
    return {
      checks: [
        {
          name: 'save sets',
          passed: false,
          detail: 'the backup label save set is unreadable',
          problems: [labelProblem],
        },
      ],
    };
  const label = decodeLabelMeta((await ctx.sm.query({ id: labelId }))[0]!, { server: ctx.server, aid: backup.aid });
  trace('verify: label read');
  const scanning = scanPhase(ctx, backup, label, opts);
  const walking = await walPhase(ctx, label, opts);
  await runPhases([scanning, walking], ctx.settings.max_backup);
  trace('verify: save sets and WAL read');
  const scan = scanning.finish();
  const control = opts.quick ? [] : [controlCheck(ctx.checker, scan.control, label, backup)];
  const checks = await nameRelations(ctx, [...scan.checks, ...control, ...walking.finish()]);
  return { checks, scan };
}

/**
 * The tasks of every phase in one queue of max_backup streams: a stream done with the save
 * sets goes on to the WAL files while the others finish theirs, so no core waits for the
 * slowest save set.
 */
async function runPhases(phases: readonly Phase<unknown>[], streams: number): Promise<void> {
  await runParallel(
    phases.flatMap((p) => p.tasks),
    Math.max(1, streams),
    (task) => task(),
  );
}

/** Step: the report, each finding's text made once. */
function reportOf(backup: BackupCopy, found: Found, started: number, opts: VerifyOptions): VerifyReport {
  const checks = renderChecks(found.checks);
  return {
    backup: backup.aid,
    level: backup.level,
    time: backup.time,
    startLsn: backup.startLsn,
    stopLsn: backup.stopLsn,
    checks,
    passed: checks.every((c) => c.passed),
    bytes: found.scan?.bytes ?? 0,
    pages: found.scan?.pages ?? 0,
    ms: Date.now() - started,
    quick: opts.quick === true,
  };
}

/** Step: the result recorded on the backup (a full verify only: a quick pass proves the media, not the backup) and in the history, and logged. */
function recordResult(ctx: BarContext, aid: number, report: VerifyReport, opts: VerifyOptions): void {
  const { passed } = report;
  if (!opts.quick) ctx.history.recordVerify(report.backup, passed, isoTime());
  const problems = report.checks.reduce((a, c) => a + c.problems.length, 0);
  ctx.history.endAction(aid, passed ? 0 : 3, passed ? 'passed' : `${problems} problem(s)`, {
    backup: report.backup,
    passed,
    problems,
    bytes: report.bytes,
    pages: report.pages,
  });
  ctx.log.info(
    `verify ${aid}: backup ${report.backup} ${passed ? 'PASSED' : `FAILED with ${problems} problem(s)`}${opts.quick ? ' (quick: stored checksums)' : `; ${report.pages} pages, ${report.bytes} bytes read`}`,
  );
  trace('verify: recorded');
}

/** Reads the label save set whole (its records checked) and decodes its content; why it cannot be used, if it cannot. */
async function readLabelSet(ctx: BarContext, id: number): Promise<string | undefined> {
  if ((await ctx.sm.query({ id })).length === 0)
    return `the backup label save set ${id} is missing from the storage manager`;
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
  if (all.length === 0)
    fail('UNREACHABLE', `no backup of server ${ctx.server} is recorded`, 'take one with `openbar backup`');
  if (which === 'latest') return all[all.length - 1]!;
  return (
    all.find((b) => b.aid === which) ??
    fail('NOT_FOUND', `no backup ${which} of server ${ctx.server}`, `backups: ${all.map((b) => b.aid).join(', ')}`)
  );
}

/** Verification phase of pg_control: present in the backup (when pg_global is), valid and of this system. */
function controlCheck(
  checker: ArchiveChecker,
  control: Buffer | undefined,
  label: LabelMeta,
  backup: BackupCopy,
): CheckDraft {
  const name = 'pg_control';
  if (!backup.objects.some((o) => o.type === 'R'))
    return { name, passed: true, detail: 'not in this backup (pg_global not backed up)', problems: [] };
  if (!control)
    return { name, passed: false, detail: 'missing', problems: ['global/pg_control is not in the pg_global save set'] };
  const why = checker.checkControlFile(control, label.systemId);
  return why
    ? { name, passed: false, detail: 'damaged or foreign', problems: [`global/pg_control: ${why}`] }
    : { name, passed: true, detail: `valid, system ${label.systemId}`, problems: [] };
}
