// `openbar config`: the settings in effect (file, environment, --set, defaults);
// `--describe` lists every key with its default and meaning.

import type { Command } from 'commander';
import { optionNames, optionTable } from '../../common/options.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { loadContext } from '../context.js';
import { printJson } from '../render.js';

export function register(program: Command, globals: Globals): void {
  subcommand(program, 'config', 'print the settings in effect; --describe explains every key')
    .option('--describe', 'list every key, its default, its environment variable and what it does')
    .addOption(jsonOption())
    .action(
      action(async (opts: { describe?: boolean; json?: boolean }) => {
        if (opts.describe) {
          const rows = optionNames.map((name) => ({
            name,
            default: optionTable[name].def ?? null,
            env: `OPENBAR_${name.toUpperCase()}`,
            help: optionTable[name].help,
          }));
          if (opts.json) return printJson(rows);
          for (const r of rows)
            process.stdout.write(
              `${r.name}${r.default !== null ? ` (default ${r.default})` : ''}\n    ${r.help}\n    environment: ${r.env}\n`,
            );
          return;
        }
        const ctx = loadContext(globals());
        if (opts.json) return printJson(ctx.settings);
        for (const name of optionNames) {
          const v = ctx.settings[name];
          process.stdout.write(`${name} = ${v === undefined ? '' : String(v)}\n`);
        }
      }),
    );
}
