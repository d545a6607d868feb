import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ConfigEntry } from '../../engine.js';
import { includeLines, rewriteConfig } from './config-lines.js';
import { checkConfigPlace, configLayout, placeConfig, startCommand } from './config-place.js';

const etc = '/etc/postgresql/15/main';
const main = [
  "data_directory = '/var/lib/postgresql/15/main'\t\t# use data in another directory",
  `hba_file = '${etc}/pg_hba.conf'`,
  "external_pid_file = '/var/run/postgresql/15-main.pid'",
  'port = 5432',
  "include_dir = 'conf.d'",
  "include '/opt/site/extra.conf'",
  `include_if_exists = '${etc}/local.conf'`,
  '',
].join('\n');
const file = (role: ConfigEntry['role'], p: string, text: string): ConfigEntry => ({
  role,
  path: p,
  type: 'file',
  mode: 0o640,
  content: Buffer.from(text),
});
const entries: ConfigEntry[] = [
  file('main', `${etc}/postgresql.conf`, main),
  file('hba', `${etc}/pg_hba.conf`, 'local all all peer\n'),
  file('ident', `${etc}/pg_ident.conf`, ''),
  { role: 'include', path: `${etc}/conf.d`, type: 'dir', mode: 0o755 },
  file('include', `${etc}/conf.d/a.conf`, 'work_mem = 8MB\n'),
  file('include', '/opt/site/extra.conf', 'shared_buffers = 64MB\n'),
  file('include', `${etc}/local.conf`, ''),
];

describe('configuration files placed for a restored copy', () => {
  it('finds the include lines, quoted or bare', () => {
    assert.deepEqual(
      includeLines(main).map((i) => `${i.kind}:${i.value}`),
      ['include_dir:conf.d', 'include:/opt/site/extra.conf', `include_if_exists:${etc}/local.conf`],
    );
    assert.deepEqual(includeLines('include foo.conf # x\n'), [{ kind: 'include', value: 'foo.conf' }]);
  });

  it('comments out what names the original cluster and moves absolute includes', () => {
    const r = rewriteConfig(main, 'postgresql.conf', (p) =>
      p === '/opt/site/extra.conf' ? '/new/extra.conf' : undefined,
    );
    assert.match(r.text, /^#openbar restore: data_directory = /m);
    assert.match(r.text, /^#openbar restore: hba_file = /m);
    assert.match(r.text, /^#openbar restore: external_pid_file = /m);
    assert.match(r.text, /^include '\/new\/extra.conf'$/m);
    assert.match(r.text, /^port = 5432$/m);
    assert.equal(r.notes.length, 4);
  });

  it('lays files out by default names, the main directory kept, anything else under openbar-included', () => {
    assert.deepEqual(
      [...configLayout(entries).values()],
      [
        'postgresql.conf',
        'pg_hba.conf',
        'pg_ident.conf',
        'conf.d',
        'conf.d/a.conf',
        'openbar-included/opt/site/extra.conf',
        'local.conf',
      ],
    );
  });

  it('writes into --config-dir with data_directory set, and never over an existing file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-config-place-'));
    try {
      const conf = path.join(dir, 'conf');
      const placed = placeConfig(entries, { dataDir: '/srv/restored', originalDataDir: '/var/lib/x', configDir: conf });
      assert.equal(placed.written.length, entries.length);
      const text = fs.readFileSync(path.join(conf, 'postgresql.conf'), 'utf8');
      assert.match(text, /^data_directory = '\/srv\/restored'$/m);
      assert.match(text, new RegExp(`^include '${conf}/openbar-included/opt/site/extra.conf'$`, 'm'));
      assert.equal(fs.readFileSync(path.join(conf, 'conf.d/a.conf'), 'utf8'), 'work_mem = 8MB\n');
      assert.match(checkConfigPlace(entries, conf)!, /postgresql\.conf exists: openbar never writes over/);
      assert.match(checkConfigPlace(entries, 'relative')!, /not an absolute path/);
      assert.equal(checkConfigPlace(entries, path.join(dir, 'new')), undefined);
      assert.equal(startCommand('/srv/restored', conf), `pg_ctl start -D ${conf}`);
      assert.equal(startCommand('/srv/my data', undefined), "pg_ctl start -D '/srv/my data'");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
