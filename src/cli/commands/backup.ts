// `openbar backup [-L 0] [--space NAME]... [--json]` (onbar -b).

import type { Command } from 'commander';
import { fail } from '../../common/errors.js';
import { trace } from '../../common/trace.js';
import { runBackup } from '../../bar/backup/backup.js';
import { formatBytes, formatRate } from '../../common/units.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { loadContext } from '../context.js';
import { openBar } from '../bar-setup.js';
import { printJson } from '../render.js';
import { runVerify } from '../../bar/verify/verify.js';

export function register(program: Command, globals: Globals): void {
  subcommand(program, 'backup', 'back up the running server online: every space by default; prints the backup id last')
    .option(
      '-L, --level <n>',
      'backup level: 0 copies every page; 1 the pages changed since the last level 0; 2 those changed since the last level 1',
      '0',
    )
    .option('--verify', 'verify the backup just taken (openbar verify) and exit 3 if it is damaged')
    .option(
      '--space <name>',
      'back up only this space (repeatable): pg_global, pg_default or a tablespace',
      (v: string, p: string[] = []) => [...p, v],
    )
    .addOption(jsonOption())
    .action(
      action(async (opts: { level: string; space?: string[]; json?: boolean; verify?: boolean }) => {
        if (!/^[0-2]$/.test(opts.level)) fail('USAGE', `-L ${opts.level}: the level is 0, 1 or 2`);
        const level = Number(opts.level);
        trace('backup: command');
        const cmd = loadContext(globals());
        const bar = await openBar(cmd, globals());
        try {
          const lines: string[] = [];
          const r = await runBackup(bar, {
            level,
            ...(opts.space ? { spaces: opts.space } : {}),
            report: (l) => lines.push(l),
          });
          const v = opts.verify ? await runVerify(bar, { backup: r.id }) : undefined;
          const verified = v
            ? `\nverify: ${v.passed ? 'PASSED' : 'FAILED'}${
                v.passed
                  ? ''
                  : `: ${v.checks
                      .filter((c) => !c.passed)
                      .flatMap((c) => c.problems)
                      .slice(0, 20)
                      .join('; ')} (run \`openbar verify ${r.id}\`)`
              }`
            : '';
          if (opts.json) printJson({ ...r, verify: v ?? null });
          else
            process.stdout.write(
              `${lines.join('\n')}\nbackup ${r.id}: level ${r.level}, ${formatBytes(r.bytes)} read, ${formatBytes(r.storedBytes)} stored, ${formatRate(r.bytes, r.ms)}, LSN ${r.startLsn} .. ${r.stopLsn}${verified}\n${r.id}\n`,
            );
          return v && !v.passed ? 3 : 0;
        } finally {
          await bar.close();
          trace('backup: closed');
        }
      }),
    );
}
