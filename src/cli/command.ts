// Shared shape of command files: each registers itself on its parent command and runs
// through `action`, which turns every failure into one stderr line and an exit status.

import { Command, Option } from 'commander';
import { describeError, exitStatusOf, OpenbarError } from '../common/errors.js';
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

export function reportError(err: unknown): void {
  process.stderr.write(`openbar: ${describeError(err)}\n`);
  if (process.env.OPENBAR_DEBUG && err instanceof Error && err.stack && !(err instanceof OpenbarError)) {
    process.stderr.write(`${err.stack}\n`);
  }
  process.exitCode = exitStatusOf(err);
}
