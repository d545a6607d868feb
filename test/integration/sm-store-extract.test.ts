// `openbar sm store` / `extract` through the real CLI: byte-identical round trips for
// every compression (one spanning two volumes), damage and truncation named precisely,
// and bad input refused with one line, exit 2 and nothing written.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { flipByte, lastLine, makeHome, openbar, savesets, sha256File, writeRandomFile } from '../harness/cli.js';

const MiB = 1024 * 1024;

describe('sm store and extract', () => {
  let env: ReturnType<typeof makeHome>;
  let src: string;
  let srcHash: string;
  before(() => {
    // 1 MiB records: the damage checks below locate bytes by record
    env = makeHome('store', { max_volume_size: '64MiB', xfer_buf_size: '1MiB' });
    src = path.join(env.dir, 'random.bin');
    srcHash = writeRandomFile(src, 100 * MiB);
  });
  after(() => fs.rmSync(env.dir, { recursive: true, force: true }));

  for (const compression of ['none', 'lz4', 'zstd']) {
    it(`round-trips 100 MiB with ${compression}, spanning two volumes`, () => {
      const r = openbar(
        ['sm', 'store', '--pool', 'Data', '--name', `rt-${compression}`, '--compression', compression, src],
        { config: env.config },
      );
      assert.equal(r.status, 0, r.stderr);
      const id = Number(lastLine(r.stdout));
      assert.ok(id > 0, `last line is the id: ${r.stdout}`);
      const info = savesets(env.config).find((s) => s.id === id)!;
      assert.equal(info.rawBytes, 100 * MiB);
      assert.ok(info.volumes.length >= 2, `spans volumes: ${info.volumes.join(',')}`);
      const out = path.join(env.dir, `out-${compression}`);
      const x = openbar(['sm', 'extract', String(id), '--out', out], { config: env.config });
      assert.equal(x.status, 0, x.stderr);
      assert.equal(sha256File(out), srcHash);
      fs.rmSync(out);
    });
  }

  it('prints {"id": …} with --json', () => {
    const small = path.join(env.dir, 'small.bin');
    writeRandomFile(small, 1000);
    const r = openbar(['sm', 'store', '--pool', 'Logs', '--name', 'small', '--json', small], { config: env.config });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(typeof j.id, 'number');
    assert.equal(j.pool, 'Logs');
  });

  it('names the save set, volume and offset of a flipped byte, and of a truncated volume', () => {
    const file = path.join(env.dir, 'victim.bin');
    writeRandomFile(file, 6 * MiB);
    const r = openbar(['sm', 'store', '--pool', 'Data', '--name', 'victim', '--compression', 'none', file], {
      config: env.config,
    });
    assert.equal(r.status, 0, r.stderr);
    const id = Number(lastLine(r.stdout));
    const info = savesets(env.config).find((s) => s.id === id)!;
    const vols = JSON.parse(openbar(['sm', 'volumes', '--json'], { config: env.config }).stdout) as {
      label: string;
      path: string;
      size: number;
    }[];
    const vol = vols.find((v) => v.label === info.volumes[0])!;
    const copy = `${vol.path}.orig`;
    fs.copyFileSync(vol.path, copy);

    // flip a byte 3 MiB before the end: inside the victim's data
    const at = vol.size - 3 * MiB;
    flipByte(vol.path, at);
    const out = path.join(env.dir, 'victim.out');
    const x = openbar(['sm', 'extract', String(id), '--out', out], { config: env.config });
    assert.equal(x.status, 1);
    const line = x.stderr.trim();
    assert.equal(line.split('\n').length, 1, line);
    assert.match(
      line,
      new RegExp(
        `^openbar: save set ${id} \\(victim\\): record checksum mismatch in volume ${vol.label} at offset (\\d+)`,
      ),
    );
    const offset = Number(/at offset (\d+)/.exec(line)![1]);
    assert.ok(offset <= at && at < offset + 1 * MiB + 40, `offset ${offset} is the record holding byte ${at}`);
    assert.equal(fs.existsSync(out), false, 'no partial output left');
    const scan = openbar(['sm', 'scan'], { config: env.config });
    assert.equal(scan.status, 3, scan.stdout);
    assert.match(scan.stdout, /STATUS volume checks FAILED/);

    // truncated: cut the volume 1 MiB short
    fs.copyFileSync(copy, vol.path);
    fs.truncateSync(vol.path, vol.size - MiB);
    const t = openbar(['sm', 'extract', String(id), '--out', out], { config: env.config });
    assert.equal(t.status, 1);
    assert.match(
      t.stderr,
      new RegExp(`^openbar: save set ${id} \\(victim\\): volume is truncated .* in volume ${vol.label} at offset \\d+`),
    );
    fs.copyFileSync(copy, vol.path);
    fs.rmSync(copy);
    assert.equal(openbar(['sm', 'extract', String(id), '--out', out], { config: env.config }).status, 0);
  });
});

describe('sm bad input', () => {
  let env: ReturnType<typeof makeHome>;
  let file: string;
  before(() => {
    env = makeHome('badinput');
    file = path.join(env.dir, 'f.bin');
    writeRandomFile(file, 4096);
  });
  after(() => fs.rmSync(env.dir, { recursive: true, force: true }));

  const state = () =>
    JSON.stringify({
      sets: savesets(env.config),
      vols: fs.readdirSync(path.join(env.home, 'volumes'), { recursive: true }).sort(),
    });

  const cases: [string, () => string[], RegExp, Record<string, string>?][] = [
    ['an unknown pool', () => ['sm', 'store', '--pool', 'Nope', '--name', 'x', file], /pool 'Nope' does not exist/],
    [
      'a missing file',
      () => ['sm', 'store', '--pool', 'Data', '--name', 'x', path.join(env.dir, 'missing')],
      /no such file/,
    ],
    ['a name with ..', () => ['sm', 'store', '--pool', 'Data', '--name', 'a..b', file], /contains '\.\.'/],
    ['a name with /', () => ['sm', 'store', '--pool', 'Data', '--name', 'a/b', file], /path separator/],
    ['an unknown option', () => ['sm', 'store', '--pool', 'Data', '--name', 'x', '--bogus', file], /unknown option/],
    ['a bad --set key', () => ['--set', 'no_such_key=1', 'sm', 'savesets'], /unknown key 'no_such_key'/],
    [
      'a bad env value',
      () => ['sm', 'savesets'],
      /OPENBAR_XFER_BUF_SIZE: xfer_buf_size/,
      { OPENBAR_XFER_BUF_SIZE: 'lots' },
    ],
    ['an unknown save set', () => ['sm', 'extract', '999999'], /save set 999999 does not exist/],
  ];
  for (const [what, args, message, envVars] of cases) {
    it(`refuses ${what}: one line, exit 2, nothing written`, () => {
      const before = state();
      const r = openbar(args(), { config: env.config, ...(envVars ? { env: envVars } : {}) });
      assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('(run with --help'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^openbar: /);
      assert.match(lines[0]!, message);
      assert.equal(state(), before);
    });
  }

  it('refuses a bad key in the config file, naming file, line and key', () => {
    const bad = path.join(env.dir, 'bad.conf');
    fs.writeFileSync(bad, `home = ${env.home}\n# fine\ncompresion = zstd\n`);
    const r = openbar(['sm', 'pools'], { config: bad });
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^openbar: ${bad.replace(/[.]/g, '\\.')} line 3: unknown key 'compresion'`));
  });

  it('refuses a missing config file and a home that was never initialised', () => {
    assert.equal(openbar(['sm', 'pools'], { config: path.join(env.dir, 'nope.conf') }).status, 2);
    const r = openbar(['sm', 'pools'], { env: { OPENBAR_HOME: path.join(env.dir, 'empty-home') } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not an openbar home.*openbar init/);
  });
});
