// The demo's narration: a heading per step, and each openbar command shown as typed,
// run for real, with its output.

import { spawnSync } from 'node:child_process';
import { fail } from '../../common/errors.js';
import { openbarExecutable } from './init.js';

export interface DemoSteps {
  say(text: string): void;
  /** runs `openbar ARGS` with the demo's config; fails the demo on another exit status */
  run(args: string[], expectStatus?: number): string;
}

export function demoSteps(config: string): DemoSteps {
  const shown = (a: string) => (/[\s'"]/.test(a) ? `'${a}'` : a);
  return {
    say: (text) => process.stdout.write(`\n# ${text}\n`),
    run: (args, expectStatus = 0) => {
      process.stdout.write(`$ openbar ${args.map(shown).join(' ')}\n`);
      const r = spawnSync(process.execPath, [openbarExecutable(), ...args], {
        encoding: 'utf8',
        env: { ...process.env, OPENBAR_CONFIG: config },
      });
      process.stdout.write(r.stdout);
      process.stdout.write(
        r.stderr
          .split('\n')
          .filter((l) => l.startsWith('openbar:'))
          .map((l) => `${l}\n`)
          .join(''),
      );
      if (r.status !== expectStatus)
        fail(
          'INTERNAL',
          `demo step 'openbar ${args.join(' ')}' exited ${r.status}, expected ${expectStatus}: ${r.stderr.trim()}`,
        );
      return r.stdout;
    },
  };
}
