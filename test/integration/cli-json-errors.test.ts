// A script that asks --json gets errors as JSON too: one `{"error": {code, message,
// hint, exit}}` line on stdout, nothing on stderr, the exit status as without --json.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openbar, tempDir } from '../harness/cli.js';

interface JsonError {
  error: { code: string; message: string; hint: string | null; exit: number };
}

const jsonError = (r: ReturnType<typeof openbar>): JsonError => {
  assert.equal(r.stderr, '', 'nothing on stderr with --json');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stdout: ${r.stdout}`);
  const j = JSON.parse(lines[0]!) as JsonError;
  assert.deepEqual(Object.keys(j.error).sort(), ['code', 'exit', 'hint', 'message']);
  assert.equal(j.error.exit, r.status, 'exit in the record is the exit status');
  return j;
};

describe('errors with --json', () => {
  const dir = tempDir('json-errors');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a missing config file: CONFIG, exit 2, message and hint apart; without --json the same as one stderr line', () => {
    const missing = path.join(dir, 'missing.conf');
    const j = jsonError(openbar(['status', '--json'], { config: missing }));
    assert.equal(j.error.code, 'CONFIG');
    assert.equal(j.error.exit, 2);
    assert.match(j.error.message, /missing\.conf does not exist/);
    assert.match(j.error.hint ?? '', /openbar init/);
    const plain = openbar(['status'], { config: missing });
    assert.equal(plain.status, 2);
    assert.equal(plain.stdout, '');
    assert.equal(plain.stderr, `openbar: ${j.error.message}: ${j.error.hint}\n`);
  });

  it(
    'no config given and none at /etc/openbar/openbar.conf: says the three ways to give one',
    {
      skip: fs.existsSync('/etc/openbar/openbar.conf') ? 'skipped: this machine has /etc/openbar/openbar.conf' : false,
    },
    () => {
      const j = jsonError(openbar(['history', '--json']));
      assert.equal(j.error.code, 'CONFIG');
      assert.match(
        j.error.message,
        /no config file: none given with --config or OPENBAR_CONFIG, and \/etc\/openbar\/openbar\.conf does not exist/,
      );
      assert.match(j.error.hint ?? '', /openbar --config \/etc\/openbar\/openbar\.conf init/);
    },
  );

  it('a usage error caught by the parser: USAGE, exit 2, no help text', () => {
    const j = jsonError(openbar(['history', '--json', '--no-such-flag']));
    assert.equal(j.error.code, 'USAGE');
    assert.equal(j.error.exit, 2);
    assert.match(j.error.message, /unknown option '--no-such-flag'/);
  });

  it('an uninitialised home: the error of the command itself, as JSON', () => {
    const conf = path.join(dir, 'openbar.conf');
    fs.writeFileSync(conf, `home = ${path.join(dir, 'home')}\n`);
    const r = openbar(['history', '--json'], { config: conf });
    assert.notEqual(r.status, 0);
    const j = jsonError(r);
    assert.ok(j.error.code.length > 0 && j.error.message.length > 0, r.stdout);
  });

  it('--json after `--` is an argument, not the flag: the error stays text', () => {
    const r = openbar(['sm', 'store', '--', '--json'], { config: path.join(dir, 'missing.conf') });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /^openbar: /);
    assert.equal(r.stdout, '');
  });
});
