// `init` where the user may not create the config's directory (a missing /etc/openbar):
// one CONFIG line naming the directory and the `install -d` that makes it, nothing
// written; and a warning when archive_command would name openbar in a checkout.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openbar, openbarBin, tempDir } from '../harness/cli.js';

// the suite runs as the postgres user (test/run-tests.ts), who may not create a directory in /etc
const user = os.userInfo().username;
const notRoot = process.getuid?.() !== 0;

describe('init and the config directory', () => {
  const dir = tempDir('init-dir');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(
    'a directory the user may not create (a missing /etc/openbar): says what to create and with which owner',
    {
      skip: notRoot ? false : 'skipped: root may create anything',
    },
    () => {
      const etc = `/etc/openbar-test-${process.pid}`;
      const home = path.join(dir, 'home');
      const r = openbar(['init', '--home', home], { config: path.join(etc, 'openbar.conf') });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(
        r.stderr,
        `openbar: cannot write the config file ${etc}/openbar.conf: ${user} may not create ${etc}: as root: install -d -m 0700 -o ${user} -g ${user} ${etc}, then run init again as ${user}\n`,
      );
      assert.equal(fs.existsSync(etc), false);
      assert.equal(fs.existsSync(home), false, 'no home made');
    },
  );

  it('warns when archive_command would name an openbar inside a git checkout or a temporary directory', () => {
    const r = openbar(['init', '--home', path.join(dir, 'home2'), '--server', 'test'], {
      config: path.join(dir, 'o.conf'),
    });
    assert.equal(r.status, 0, r.stderr);
    const installed =
      !/^(\/tmp|\/var\/tmp)\//.test(openbarBin) && !fs.existsSync(path.join(path.dirname(openbarBin), '../../.git'));
    if (installed) assert.doesNotMatch(r.stdout, /^warning: archive_command/m);
    else
      assert.match(
        r.stdout,
        /^warning: archive_command names openbar at \S+openbar\.js, (inside the git checkout|in the temporary directory) /m,
      );
  });
});
