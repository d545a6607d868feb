#!/usr/bin/env node
// openbar: the command table. Commands live one per file under commands/; this file
// only wires them, with global flags and exit statuses.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { exitCodesHelp, jsonAsked, printJsonError, reportError, type Globals } from './command.js';
import { commandWord } from './command-word.js';
import type { GlobalFlags } from './context.js';

// libuv's thread pool does every file read; its default 4 threads leave scattered reads
// (the changed pages of a level 1, restores' small files) waiting on each other. It starts
// at the first asynchronous file call, which comes after this line.
process.env.UV_THREADPOOL_SIZE ??= '16';
if (process.env.OPENBAR_TRACE)
  process.on('exit', () => process.stderr.write(`trace ${performance.now().toFixed(0).padStart(6)} ms exit\n`));

type Register = (program: Command, globals: Globals) => void;
type CommandModule = { register: Register };

/**
 * The top-level commands, each loaded only when used: a command's modules (and the
 * libraries they pull in, such as the PostgreSQL client) cost start-up time, and
 * archive_command starts openbar once per WAL segment. Order is the order of --help.
 */
const commands: readonly (readonly [string, () => Promise<CommandModule[]>])[] = [
  ['init', async () => [await import('./commands/init.js')]],
  ['demo', async () => [await import('./commands/demo.js')]],
  ['backup', async () => [await import('./commands/backup.js')]],
  ['restore', async () => [await import('./commands/restore.js')]],
  ['log', async () => [await import('./commands/log.js')]],
  ['history', async () => [await import('./commands/history.js')]],
  ['status', async () => [await import('./commands/status.js')]],
  ['expire', async () => [await import('./commands/expire.js')]],
  ['sync', async () => [await import('./commands/sync.js')]],
  ['verify', async () => [await import('./commands/verify.js')]],
  [
    'sm',
    async () =>
      Promise.all([
        import('./commands/sm/sm-pools.js'),
        import('./commands/sm/sm-volumes.js'),
        import('./commands/sm/sm-savesets.js'),
        import('./commands/sm/sm-store.js'),
        import('./commands/sm/sm-extract.js'),
        import('./commands/sm/sm-scan.js'),
        import('./commands/sm/sm-bootstrap.js'),
        import('./commands/sm/sm-watch.js'),
        import('./commands/sm/sm-delete.js'),
      ]),
  ],
  ['config', async () => [await import('./commands/config.js')]],
];

/** The version in openbar's package.json, found upwards from this script (dist/src/cli or dist/bundle). */
function openbarVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'openbar' && pkg.version) return pkg.version;
    } catch {
      /* none here */
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

/** The program with `only` registered (its help lists only it), or every command when undefined. */
export async function buildProgram(only?: string): Promise<Command> {
  const json = jsonAsked();
  const program = new Command('openbar')
    .description(
      'online backup and restore for PostgreSQL: levels 0/1/2, WAL backup, point-in-time restore, storage manager',
    )
    .version(openbarVersion(), '-V, --version', 'print the version of openbar')
    .option(
      '-c, --config <file>',
      'config file (default: $OPENBAR_CONFIG, else /etc/openbar/openbar.conf when it exists)',
    )
    .option(
      '--set <key=value>',
      'override a setting for this run, repeatable (see `openbar config --describe`)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .addHelpText('after', exitCodesHelp)
    .showHelpAfterError(json ? false : '(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      // a usage error: one line on stderr, or with --json the error record on stdout
      outputError: (str, write) => {
        const message = str.replace(/^error: /, '').trim();
        if (json) printJsonError({ code: 'USAGE', message, hint: 'run with --help for usage', exit: 2 });
        else write(`openbar: ${message}\n`);
      },
    });
  const globals = (): GlobalFlags => program.opts<GlobalFlags>();
  const chosen = commands.filter(([name]) => only === undefined || name === only);
  const loaded = await Promise.all(chosen.map(([, load]) => load()));
  chosen.forEach(([name], i) => {
    const modules = loaded[i]!;
    if (name !== 'sm') return modules[0]!.register(program, globals);
    const sm = program.command('sm').description('the storage manager: pools, volumes, save sets, catalog, bootstrap');
    for (const m of modules) m.register(sm, globals);
  });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // only the command asked for is loaded; help, typos and the like get them all
  const word = commandWord(argv);
  const program = await buildProgram(commands.some(([name]) => name === word) ? word : undefined);
  // `openbar sm savesets | head`: a reader that goes away is not an error
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // Ctrl-C / SIGTERM: stop with the conventional status; transactions left open are
  // found stale and cut back by the next openbar that mounts their volumes
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`openbar: interrupted (${sig})\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    reportError(err);
  }
}

// not a top-level await: the bundle is a CommonJS script (see build/bundle.ts)
main(process.argv).catch(reportError);
