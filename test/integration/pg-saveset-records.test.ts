// The save-set records of a real backup as a newer openbar would have written them: the
// label's content and meta bumped to a version this openbar does not know. Verify names
// the label and says a newer openbar wrote it; `sync --from-storage` refuses to rebuild a
// history without that backup (expire would then remove what it needs), with one line,
// and leaves the history and the boot file as they were.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SaveSetKind } from '../../src/bar/records/saveset-kinds.js';
import { bootFilePath } from '../../src/history/boot-file.js';
import { lastLine, openbar, savesets } from '../harness/cli.js';
import { makePgEnv, ok, removeEnv, type PgEnv } from '../harness/pg.js';
import { readSaveSetContent, replaceSaveSet } from '../harness/volume-surgery.js';

interface Report {
  passed: boolean;
  checks: { name: string; passed: boolean; problems: string[] }[];
}

describe('save-set records written by a newer openbar', () => {
  let env: PgEnv;
  let aid = 0;
  const label = () => savesets(env.config).find((s) => s.kind === SaveSetKind.label)!;

  before(async () => {
    env = await makePgEnv('records');
    await env.cluster.query('CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g');
    aid = Number(lastLine(ok(openbar(['backup'], { config: env.config }), 'backup').stdout));
  });

  after(() => removeEnv(env, [env.cluster]));

  it('verify names the label whose content a newer openbar wrote', async () => {
    const old = label();
    const json = JSON.parse((await readSaveSetContent(env.home, old.id)).toString('utf8')) as Record<string, unknown>;
    assert.equal(json.contentVersion, 1);
    const id = await replaceSaveSet(
      env.home,
      old.id,
      Buffer.from(JSON.stringify({ ...json, contentVersion: 2 }), 'utf8'),
    );
    ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync --from-storage');
    const r = openbar(['verify', String(aid), '--json'], { config: env.config });
    assert.equal(r.status, 3, r.stderr);
    const saveSets = (JSON.parse(r.stdout) as Report).checks.find((c) => c.name === 'save sets')!;
    assert.equal(saveSets.passed, false);
    assert.deepEqual(saveSets.problems, [
      `backup label save set ${id} was written by a newer openbar (version 2 of its format; this openbar reads version 1)`,
    ]);
  });

  it('sync --from-storage refuses a label whose meta a newer openbar wrote, and changes nothing', async () => {
    const old = label();
    const id = await replaceSaveSet(env.home, old.id, await readSaveSetContent(env.home, old.id), {
      meta: { metaVersion: 2 },
    });
    const boot = fs.readFileSync(bootFilePath(env.home, 'main'), 'utf8');
    const before = fs.readdirSync(env.home).sort();
    const r = openbar(['sync', '--from-storage'], { config: env.config });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      `openbar: label save set ${id} of main was written by a newer openbar (version 2 of its format; this openbar reads version 1): upgrade openbar to read it\n`,
    );
    assert.equal(fs.readFileSync(bootFilePath(env.home, 'main'), 'utf8'), boot);
    assert.deepEqual(fs.readdirSync(env.home).sort(), before);
  });
});
