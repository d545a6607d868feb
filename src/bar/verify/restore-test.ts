// `openbar verify --restore-test`: the backup is restored into a scratch directory to
// its consistency point, started there, every database checked with pg_amcheck, and
// everything removed again. The proof that a backup restores, recorded like the rest.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fail } from '../../common/errors.js';
import type { BarContext } from '../bar-context.js';
import { runRestore } from '../restore/restore.js';
import { decodeLabelEntry, decodeLabelMeta } from '../records/label-record.js';

export interface RestoreTestResult {
  readonly passed: boolean;
  readonly detail: string;
  readonly problems: readonly string[];
}

export async function runRestoreTest(
  ctx: BarContext,
  backupId: number,
  opts: { restoreCommand: (before?: string) => string; workRoot?: string },
): Promise<RestoreTestResult> {
  const backup = ctx.history.backups().find((b) => b.aid === backupId);
  if (!backup) return { passed: false, detail: 'backup not found', problems: [`backup ${backupId} is not recorded`] };
  const meta = await ctx.sm
    .query({ id: backup.objects.find((o) => o.type === 'B')!.copyIds[0]! })
    .then(([info]) =>
      info
        ? {
            ...decodeLabelMeta(info, { server: ctx.server, aid: backupId }),
            pgVersion: decodeLabelEntry(info).pgVersion,
          }
        : undefined,
    )
    .catch(() => undefined); // the restore below meets it again, and says what it is
  // the server programs of the backup's major are looked for before anything is restored
  const found = meta?.pgVersion ? ctx.offline.trialPrograms(meta.pgVersion, ctx.settings.pg_bin) : undefined;
  if (found?.problem !== undefined) fail('NOT_FOUND', `cannot run the restore test: ${found.problem}`, found.hint);
  const work = fs.mkdtempSync(path.join(opts.workRoot ?? os.tmpdir(), `openbar-restore-test-${backupId}-`));
  fs.chmodSync(work, 0o700);
  const dataDir = path.join(work, 'data');
  try {
    const spaces = meta?.spaces;
    // tablespaces go into the scratch directory too, never over the originals
    const map = new Map(
      (spaces ?? []).filter((s) => s.oid !== null).map((s) => [s.name, path.join(work, `tablespace-${s.oid}`)]),
    );
    const r = await runRestore(ctx, {
      // on the backup's own timeline: whatever forked later, the consistency point is there
      dataDir,
      target: { kind: 'lsn', value: backup.stopLsn },
      timeline: backup.timeline,
      tablespaceMap: map,
      salvage: false,
      restart: false,
      planOnly: false,
      archiveMode: 'off',
      restoreCommand: opts.restoreCommand,
    });
    if (r.plan.backup.aid !== backupId)
      return {
        passed: false,
        detail: 'another backup was chosen',
        problems: [`restoring to ${backup.stopLsn} chose backup ${r.plan.backup.aid}`],
      };
    const t = await ctx.offline.trialRun(dataDir, work, ctx.settings.pg_user, found?.programs, ctx.settings.pg_bin);
    ctx.log.info(`verify: restore test of backup ${backupId} ${t.passed ? 'passed' : 'FAILED'}: ${t.detail}`);
    return t;
  } catch (err) {
    return { passed: false, detail: 'the restore failed', problems: [(err as Error).message] };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
