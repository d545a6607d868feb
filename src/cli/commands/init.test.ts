import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { unstableInstall } from './init.js';

describe('init: where archive_command would name openbar', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-init-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('warns of a git checkout, naming it', () => {
    const checkout = path.join(root, 'src', 'openbar');
    fs.mkdirSync(path.join(checkout, '.git'), { recursive: true });
    fs.mkdirSync(path.join(checkout, 'dist', 'bundle'), { recursive: true });
    const [w] = unstableInstall(path.join(checkout, 'dist/bundle/openbar.js'), '/nonexistent-tmp');
    assert.match(w ?? '', new RegExp(`inside the git checkout ${checkout}: moving or removing it stops archiving`));
  });

  it('warns of a temporary directory, and says nothing of an installed openbar', () => {
    assert.match(unstableInstall('/tmp/x/openbar.js', '/nonexistent-tmp')[0] ?? '', /in the temporary directory \/tmp/);
    assert.match(unstableInstall(path.join(root, 'openbar.js'), root)[0] ?? '', /in the temporary directory/);
    assert.deepEqual(unstableInstall('/usr/lib/node_modules/openbar/dist/bundle/openbar.js', '/nonexistent-tmp'), []);
  });
});
