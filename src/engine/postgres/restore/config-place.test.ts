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

  it('lays files out by default names, anything else under openbar-included by its old path', () => {
    assert.deepEqual(
      [...configLayout(entries).values()],
      [
        'postgresql.conf',
        'pg_hba.conf',
        'pg_ident.conf',
        `openbar-included${etc}/conf.d`,
        `openbar-included${etc}/conf.d/a.conf`,
        'openbar-included/opt/site/extra.conf',
        `openbar-included${etc}/local.conf`,
      ],
    );
    assert.throws(
      () => configLayout([entries[0]!, { ...entries[1]!, role: 'main' }]),
      /would both be written to postgresql\.conf/,
    );
    assert.match(
      checkConfigPlace([entries[0]!, { ...entries[1]!, role: 'main' }], undefined)!,
      /would both be written/,
    );
  });

  it('never writes over what the restored data directory holds: an include at main/global/pg_control is not pg_control', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-config-place-'));
    try {
      const data = path.join(dir, 'data');
      fs.mkdirSync(path.join(data, 'global'), { recursive: true });
      fs.writeFileSync(path.join(data, 'global/pg_control'), 'restored');
      fs.writeFileSync(path.join(data, 'PG_VERSION'), '15\n');
      const hostile: ConfigEntry[] = [
        file('main', `${etc}/postgresql.conf`, "include 'global/pg_control'\ninclude_dir = 'conf.d'\n"),
        file('include', `${etc}/global/pg_control`, 'forged'),
        file('include', `${etc}/PG_VERSION`, '99\n'),
        { role: 'include', path: `${etc}/conf.d`, type: 'dir', mode: 0o755 },
      ];
      assert.equal(checkConfigPlace(hostile, undefined), undefined);
      placeConfig(hostile, { dataDir: data, configDir: undefined });
      assert.equal(fs.readFileSync(path.join(data, 'global/pg_control'), 'utf8'), 'restored');
      assert.equal(fs.readFileSync(path.join(data, 'PG_VERSION'), 'utf8'), '15\n');
      assert.equal(fs.readFileSync(path.join(data, `openbar-included${etc}/global/pg_control`), 'utf8'), 'forged');
      // relative include lines follow their files
      const conf = fs.readFileSync(path.join(data, 'postgresql.conf'), 'utf8');
      assert.match(conf, new RegExp(`^include '${data}/openbar-included${etc}/global/pg_control'$`, 'm'));
      assert.match(conf, new RegExp(`^include_dir = '${data}/openbar-included${etc}/conf.d'$`, 'm'));
      // and never through a link below the directory
      fs.rmSync(path.join(data, 'openbar-included'), { recursive: true });
      fs.symlinkSync(path.join(data, 'global'), path.join(data, 'openbar-included'));
      assert.throws(() => placeConfig(hostile, { dataDir: data, configDir: undefined }), /symbolic link/);
      assert.equal(fs.readFileSync(path.join(data, 'global/pg_control'), 'utf8'), 'restored');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes into --config-dir with data_directory set, and never over an existing file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-config-place-'));
    try {
      const conf = path.join(dir, 'conf');
      const placed = placeConfig(entries, { dataDir: '/srv/restored', configDir: conf });
      assert.equal(placed.written.length, entries.length);
      const text = fs.readFileSync(path.join(conf, 'postgresql.conf'), 'utf8');
      assert.match(text, /^data_directory = '\/srv\/restored'$/m);
      assert.match(text, new RegExp(`^include '${conf}/openbar-included/opt/site/extra.conf'$`, 'm'));
      assert.match(text, new RegExp(`^include_dir = '${conf}/openbar-included${etc}/conf.d'$`, 'm'));
      assert.equal(
        fs.readFileSync(path.join(conf, `openbar-included${etc}/conf.d/a.conf`), 'utf8'),
        'work_mem = 8MB\n',
      );
      assert.match(checkConfigPlace(entries, conf)!, /postgresql\.conf exists: openbar never writes over/);
      // a --restart of the restore that wrote them: its own files are not in the way
      assert.equal(checkConfigPlace(entries, conf, { ours: true }), undefined);
      assert.match(checkConfigPlace(entries, 'relative')!, /not an absolute path/);
      assert.equal(checkConfigPlace(entries, path.join(dir, 'new')), undefined);
      assert.equal(startCommand('/srv/restored', conf), `pg_ctl start -D ${conf}`);
      assert.equal(startCommand('/srv/my data', undefined), "pg_ctl start -D '/srv/my data'");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
