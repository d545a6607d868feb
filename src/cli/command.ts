// Shared shape of command files: each registers itself on its parent command and runs
// through `action`, which turns every failure into one stderr line and an exit status.

import { Command, Option } from 'commander';
import { describeError, errorRecord, exitStatusOf, OpenbarError } from '../common/errors.js';
import type { GlobalFlags } from './context.js';

export type Globals = () => GlobalFlags;

export const exitCodesHelp = `
Exit status:
  0  done
  1  the operation failed
  2  bad usage or configuration
  3  damage found (verify, sm scan)`;

/** A subcommand with the exit codes in its help. */
export function subcommand(parent: Command, spec: string, description: string): Command {
  return parent.command(spec).description(description).addHelpText('after', exitCodesHelp);
}

export function jsonOption(): Option {
  return new Option('--json', 'print JSON instead of text');
}

/** Runs a command body; errors become `openbar: message` and the table's exit status. */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | void> | number | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const status = await fn(...args);
      process.exitCode = typeof status === 'number' ? status : 0;
    } catch (err) {
      reportError(err);
    }
  };
}

/** `--json` among the arguments (before a `--`): errors are then JSON on stdout, and nothing on stderr. */
export function jsonAsked(argv: readonly string[] = process.argv.slice(2)): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** The one line `--json` prints for an error: `{"error": {"code", "message", "hint", "exit"}}`. */
export function printJsonError(error: ReturnType<typeof errorRecord>): void {
  process.stdout.write(`${JSON.stringify({ error })}\n`);
}

export function reportError(err: unknown): void {
  if (jsonAsked()) printJsonError(errorRecord(err));
  else process.stderr.write(`openbar: ${describeError(err)}\n`);
  if (process.env.OPENBAR_DEBUG && err instanceof Error && err.stack && !(err instanceof OpenbarError)) {
    process.stderr.write(`${err.stack}\n`);
  }
  process.exitCode = exitStatusOf(err);
}
