// `openbar verify [BACKUP_ID | latest] [--restore-test] [--json]` (archecker): reads a
// backup back whole and checks it; exit 0 when clean, 3 when damage is found.

import type { Command } from 'commander';
import type { runRestoreTest } from '../../bar/verify/restore-test.js';
import { runVerify, type VerifyReport } from '../../bar/verify/verify.js';
import { fail } from '../../common/errors.js';
import { Progress } from '../../common/progress.js';
import { formatBytes, formatRate, formatTime, isoTime } from '../../common/units.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { openBar } from '../bar-setup.js';
import { loadContext } from '../context.js';
import { printJson } from '../render.js';

export function register(program: Command, globals: Globals): void {
  subcommand(
    program,
    'verify [backup]',
    'read a backup back whole and check it (save sets, pages, files, pg_control, WAL); BACKUP is an id or latest',
  )
    .option('--restore-test', 'also restore it into a scratch directory, start PostgreSQL there and run pg_amcheck')
    .option(
      '--quick',
      'media checks only: stored record checksums and save-set totals, WAL present and continuous; nothing decompressed, no page checked, not recorded on the backup',
    )
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Scan phase: every record of every save set is read and its checksum checked, every
page parsed (header, and data checksum when the cluster has them). Verification
phase: every file complete to its recorded size, pg_control valid and of this
system, the backup's WAL present and sound, the WAL after it continuous to the
newest archived file. Prints one STATUS line per check and one line per problem.
The result is recorded on the backup (see \`openbar status\`).
--quick reads only what is stored (as pgBackRest's verify does): fast enough for
every night, while the full verify proves the backup can be restored.`,
    )
    .action(
      action(async (which: string | undefined, opts: { restoreTest?: boolean; quick?: boolean; json?: boolean }) => {
        const backup = which === undefined || which === 'latest' ? ('latest' as const) : Number(which);
        if (backup !== 'latest' && (!Number.isSafeInteger(backup) || backup <= 0))
          fail('USAGE', `'${which}' is not a backup id`, 'give an id from `openbar history`, or latest');
        if (opts.quick && opts.restoreTest)
          fail(
            'USAGE',
            '--quick and --restore-test do not go together',
            'a restore test reads the whole backup: run it without --quick',
          );
        const cmd = loadContext(globals());
        const bar = await openBar(cmd, globals());
        try {
          const progress = new Progress({ what: 'verify', log: bar.log, logEveryMs: bar.settings.progress_freq });
          const report = await runVerify(bar, { backup, quick: opts.quick === true, onBytes: (n) => progress.add(n) });
          progress.finish();
          let test: Awaited<ReturnType<typeof runRestoreTest>> | undefined;
          if (opts.restoreTest) {
            if (!bar.configFile)
              fail(
                'USAGE',
                'verify --restore-test needs --config FILE',
                "the restored server's restore_command names it",
              );
            // loaded only for a restore test: the restore modules cost start-up time otherwise
            const [{ runRestoreTest }, { openbarCommandLine, restoreCommandLine }] = await Promise.all([
              import('../../bar/verify/restore-test.js'),
              import('./init.js'),
            ]);
            test = report.passed
              ? await runRestoreTest(bar, report.backup, {
                  restoreCommand: restoreCommandLine(openbarCommandLine(), bar.configFile!),
                })
              : { passed: false, detail: 'not run: the backup failed verification', problems: [] };
            bar.history.recordVerify(report.backup, report.passed && test.passed, isoTime());
          }
          const passed = report.passed && (test?.passed ?? true);
          if (opts.json) printJson({ ...report, restoreTest: test ?? null, passed });
          else printReport(report, test);
          return passed ? 0 : 3;
        } finally {
          await bar.close();
        }
      }),
    );
}

function printReport(
  r: VerifyReport,
  test: { passed: boolean; detail: string; problems: readonly string[] } | undefined,
): void {
  const out: string[] = [
    `verify backup ${r.backup}: level ${r.level}, taken ${formatTime(r.time)}, LSN ${r.startLsn} .. ${r.stopLsn}`,
  ];
  const checks = [...r.checks, ...(test ? [{ name: 'restore test', ...test }] : [])];
  for (const c of checks) {
    out.push(`STATUS ${c.name.padEnd(16, '.')} ${c.passed ? 'PASSED' : 'FAILED'}  ${c.detail}`);
    for (const p of c.problems.slice(0, 200)) out.push(`  ${p}`);
    if (c.problems.length > 200) out.push(`  ... and ${c.problems.length - 200} more (--json lists them all)`);
  }
  const problems = checks.reduce((a, c) => a + c.problems.length, 0);
  out.push(
    r.quick
      ? `${formatBytes(r.bytes)} of stored records checked in ${(r.ms / 1000).toFixed(1)} s (quick: pages, files, pg_control and WAL content not checked)`
      : `${formatBytes(r.bytes)} read, ${r.pages} pages checked in ${(r.ms / 1000).toFixed(1)} s (${formatRate(r.bytes, r.ms)})`,
  );
  out.push(
    problems === 0 && checks.every((c) => c.passed)
      ? `backup ${r.backup} PASSED`
      : `backup ${r.backup} FAILED: ${problems} problem(s)`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}
