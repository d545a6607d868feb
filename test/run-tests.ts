// Runs every compiled test file (x.test.js) with node's test runner, two at a time.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);

function find(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return find(p);
    return d.name.endsWith('.test.js') ? [p] : [];
  });
}

const files = [...find(path.join(root, 'src')), ...find(path.join(root, 'test'))]
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
const started = Date.now();
// PostgreSQL refuses to run as root: as root, the suite runs as the postgres user
const args = ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files];
const r =
  process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status === 0
    ? spawnSync('runuser', ['-u', 'postgres', '--', process.execPath, ...args], { stdio: 'inherit', cwd: '/tmp' })
    : spawnSync(process.execPath, args, { stdio: 'inherit' });
process.stdout.write(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
process.exit(r.status ?? 1);
