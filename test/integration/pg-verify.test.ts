// openbar verify (archecker) against damage injected into real backups: each damage
// is found and named, the other backup is still reported clean, and a clean backup
// passes, --restore-test included. Each damage is made in the home and undone after.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';
import { lastLine, openbar, savesets, type RunResult } from '../harness/cli.js';
import { makePgEnv, ok, removeEnv, type PgEnv } from '../harness/pg.js';
import { editSaveSet, flipRawBit, readSaveSetContent, replaceSaveSet } from '../harness/volume-surgery.js';

interface Report {
  passed: boolean;
  checks: { name: string; passed: boolean; problems: string[] }[];
}

describe('verify (archecker)', () => {
  let env: PgEnv;
  let older: number;
  let newer: number;
  let accounts: { path: string; dbOid: number; relfilenode: number };
  let label: { walFiles: string[] };

  const verify = (id: number | string, extra: string[] = []): { r: RunResult; report: Report } => {
    const r = openbar(['verify', String(id), '--json', ...extra], { config: env.config });
    assert.ok(r.status === 0 || r.status === 3, `verify exited ${r.status}: ${r.stderr}`);
    return { r, report: JSON.parse(r.stdout) as Report };
  };
  const failed = (rep: Report) => rep.checks.filter((c) => !c.passed).map((c) => c.name);
  const problems = (rep: Report, check: string) => rep.checks.find((c) => c.name === check)!.problems.join('\n');
  /** the pg_default save set of backup `aid`, and the volume it is in */
  const spaceSet = (aid: number, space = 'pg_default') => {
    const s = savesets(env.config).find(
      (x) => x.kind === 'space' && x.name === space && (x as unknown as { meta: { aid: number } }).meta.aid === aid,
    )!;
    return { id: s.id, volume: path.join(env.home, 'volumes', s.pool, `${s.volumes[0]}.vol`) };
  };
  /** runs `damage`, checks, and puts the home back exactly as it was */
  const withDamage = async (
    damage: () => void | Promise<void>,
    check: () => Promise<void> | void,
    opts: { rebuild?: boolean } = {},
  ) => {
    const keep = `${env.home}.keep`;
    execFileSync('cp', ['-a', env.home, keep]);
    try {
      await damage();
      if (opts.rebuild !== false) ok(openbar(['sm', 'scan', '--rebuild'], { config: env.config }), 'sm scan --rebuild');
      await check();
    } finally {
      fs.rmSync(env.home, { recursive: true, force: true });
      fs.renameSync(keep, env.home);
    }
  };
  const entryContent = (
    content: Buffer,
    relPath: string,
  ): { json: { size: number }; jsonAt: number; dataAt: number } => {
    const jsonAt = content.indexOf(Buffer.from(`{"path":"${relPath}",`));
    assert.ok(jsonAt > 0, `no entry for ${relPath} in the stream`);
    const len = content.readUInt32LE(jsonAt - 4);
    return { json: JSON.parse(content.subarray(jsonAt, jsonAt + len).toString()), jsonAt, dataAt: jsonAt + len };
  };

  before(async () => {
    env = await makePgEnv('verify', { settings: { compression: 'none' } });
    env.cluster.pgbenchInit(1);
    older = Number(lastLine(ok(openbar(['backup'], { config: env.config }), 'backup').stdout));
    await env.cluster.pgbench(2, 2);
    newer = Number(lastLine(ok(openbar(['backup'], { config: env.config }), 'backup').stdout));
    await env.cluster.query('CREATE TABLE after_backup AS SELECT g FROM generate_series(1, 50000) g');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    await env.cluster.query('INSERT INTO after_backup SELECT g FROM generate_series(1, 50000) g');
    ok(openbar(['log', 'backup'], { config: env.config }), 'log backup');
    const [a] = await env.cluster.query<{ p: string; d: number; f: number }>(
      "SELECT pg_relation_filepath('pgbench_accounts') AS p, (SELECT oid::int FROM pg_database WHERE datname = current_database()) AS d, pg_relation_filenode('pgbench_accounts')::int AS f",
    );
    accounts = { path: a!.p.replace(/^base\//, ''), dbOid: a!.d, relfilenode: a!.f }; // paths in pg_default's stream are relative to base/
    label = (
      savesets(env.config).find(
        (s) => s.kind === 'label' && (s as unknown as { meta: { aid: number } }).meta.aid === newer,
      ) as unknown as { meta: { walFiles: string[] } }
    ).meta;
  });
  after(() => removeEnv(env, [env.cluster]));

  it('passes a clean backup, the restore test included, and records it', () => {
    const a = verify(older);
    assert.equal(a.r.status, 0, a.r.stdout);
    const b = verify('latest', ['--restore-test']);
    assert.equal(b.r.status, 0, b.r.stdout);
    assert.deepEqual(failed(b.report), []);
    const text = ok(openbar(['verify', String(newer)], { config: env.config }), 'verify').stdout;
    for (const c of ['save sets', 'pages', 'files complete', 'pg_control', 'backup WAL', 'WAL to latest'])
      assert.match(text, new RegExp(`STATUS ${c}\\.* PASSED`));
    const st = JSON.parse(ok(openbar(['status', '--json'], { config: env.config }), 'status').stdout) as {
      spaces: { id: number }[];
    };
    assert.ok(st.spaces.length > 0);
    const h = JSON.parse(ok(openbar(['history', '--json'], { config: env.config }), 'history').stdout) as {
      aid: number;
      instances: { verified: boolean; verifyDate: string | null }[];
    }[];
    assert.ok(h.find((x) => x.aid === newer)!.instances.every((i) => i.verified && i.verifyDate));
  });

  it('names the save set, volume and offset of a flipped bit, and restore refuses to finish', async () => {
    const s = spaceSet(newer);
    await withDamage(
      () => flipRawBit(s.volume, s.id, 3_000_000),
      () => {
        const b = verify(newer);
        assert.equal(b.r.status, 3);
        assert.deepEqual(failed(b.report), ['save sets', 'files complete']);
        assert.match(
          problems(b.report, 'save sets'),
          new RegExp(
            `save set ${s.id} \\(pg_default\\): record checksum mismatch in volume Data\\.\\d+ at offset \\d+`,
          ),
        );
        assert.equal(verify(older).r.status, 0);
        const dir = path.join(env.dir, 'restore-damaged');
        const r = openbar(['restore', '--data-dir', dir], { config: env.config });
        assert.equal(r.status, 1);
        assert.match(r.stderr, new RegExp(`save set ${s.id}`));
        assert.ok(
          !fs.existsSync(path.join(dir, 'global', 'pg_control')),
          'a failed restore must leave a directory PostgreSQL will not start',
        );
        fs.rmSync(dir, { recursive: true, force: true });
      },
    );
  });

  it('--quick finds a flipped bit from the stored checksums alone, and is not recorded on the backup', async () => {
    const clean = verify(older, ['--quick']);
    assert.equal(clean.r.status, 0, clean.r.stdout);
    assert.deepEqual(
      clean.report.checks.map((c) => c.name),
      ['save sets', 'backup WAL', 'WAL to latest'],
    );
    const s = spaceSet(newer);
    await withDamage(
      () => flipRawBit(s.volume, s.id, 3_000_000),
      () => {
        const b = verify(newer, ['--quick']);
        assert.equal(b.r.status, 3);
        assert.match(
          problems(b.report, 'save sets'),
          new RegExp(
            `save set ${s.id} \\(pg_default\\): record checksum mismatch in volume Data\\.\\d+ at offset \\d+`,
          ),
        );
        // a failed quick check does not mark the backup (only a full verify does)
        const h = JSON.parse(ok(openbar(['history', '--json'], { config: env.config }), 'history').stdout) as {
          aid: number;
          instances: { verified: boolean }[];
        }[];
        assert.ok(
          h.find((x) => x.aid === newer)!.instances.every((i) => i.verified),
          'the earlier full verify still stands',
        );
      },
    );
    const both = openbar(['verify', String(older), '--quick', '--restore-test'], { config: env.config });
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--quick and --restore-test do not go together/);
  });

  it('finds a flipped bit inside a page once the record is re-sealed, by its page checksum', async () => {
    const s = spaceSet(newer);
    await withDamage(
      () =>
        editSaveSet(s.volume, s.id, (content) => {
          const e = entryContent(content, accounts.path);
          content[e.dataAt + 3 * 8192 + 4000]! ^= 0x01;
        }),
      () => {
        const b = verify(newer);
        assert.equal(b.r.status, 3);
        assert.deepEqual(failed(b.report), ['pages']);
        assert.match(
          problems(b.report, 'pages'),
          new RegExp(
            `database ${accounts.dbOid} \\(postgres\\), relation pgbench_accounts \\(relfilenode ${accounts.relfilenode}\\), page 3: page checksum mismatch`,
          ),
        );
        assert.equal(verify(older).r.status, 0);
      },
    );
  });

  it('finds pages missing from a level-0 stream', async () => {
    const s = spaceSet(newer);
    let pages = 0;
    const content = await readSaveSetContent(env.home, s.id);
    await withDamage(
      async () => {
        // the stream re-encoded with the last two pages of pgbench_accounts left out
        const e = entryContent(content, accounts.path);
        const len = content.readUInt32LE(e.jsonAt - 4);
        pages = e.json.size / 8192;
        const entry = Buffer.from(JSON.stringify({ ...e.json, offset: 0, length: e.json.size - 2 * 8192 }));
        const head = Buffer.alloc(4);
        head.writeUInt32LE(entry.length);
        const damaged = Buffer.concat([
          content.subarray(0, e.jsonAt - 4),
          head,
          entry,
          content.subarray(e.jsonAt + len, e.dataAt + e.json.size - 2 * 8192),
          content.subarray(e.dataAt + e.json.size),
        ]);
        await replaceSaveSet(env.home, s.id, damaged);
        ok(openbar(['sync', '--from-storage'], { config: env.config }), 'sync --from-storage');
      },
      () => {
        const b = verify(newer);
        assert.equal(b.r.status, 3);
        assert.deepEqual(failed(b.report), ['files complete'], JSON.stringify(b.report.checks));
        assert.match(
          problems(b.report, 'files complete'),
          new RegExp(
            `relation pgbench_accounts \\(relfilenode ${accounts.relfilenode}\\), pages ${pages - 2}\\.\\.${pages - 1}: 2 pages missing`,
          ),
        );
        assert.equal(verify(older).r.status, 0);
      },
      { rebuild: false },
    );
  });

  it('finds a truncated volume', async () => {
    const s = spaceSet(newer);
    await withDamage(
      () => {
        fs.chmodSync(s.volume, 0o640);
        fs.truncateSync(s.volume, fs.statSync(s.volume).size - 100_000);
      },
      () => {
        const b = verify(newer);
        assert.equal(b.r.status, 3);
        // the label or a space save set is cut, by where the volume ends: no other check may fail
        assert.ok(failed(b.report).includes('save sets'));
        assert.ok(
          failed(b.report).every((c) => ['save sets', 'files complete'].includes(c)),
          JSON.stringify(failed(b.report)),
        );
        assert.match(problems(b.report, 'save sets'), /volume is truncated|is truncated/);
        assert.equal(verify(older).r.status, 0);
      },
      { rebuild: false },
    );
  });

  it('finds a missing and a corrupted WAL file in the range', async () => {
    const wal = savesets(env.config).filter((s) => s.kind === 'wal');
    const own = wal.find((w) => w.name === label.walFiles[0])!;
    const afterIt = wal
      .filter((w) => /^[0-9A-F]{24}$/.test(w.name) && w.name > label.walFiles[label.walFiles.length - 1]!)
      .sort((x, y) => x.name.localeCompare(y.name));
    assert.ok(afterIt.length >= 2, 'WAL archived after the backup');
    await withDamage(
      () => {
        // the backup's own store of the file and the archiver's can race: every copy goes
        const copies = wal.filter((w) => w.name === own.name).map((w) => String(w.id));
        ok(openbar(['sm', 'delete', '--force', ...copies], { config: env.config }), 'sm delete');
        editSaveSet(
          path.join(env.home, 'volumes', afterIt[0]!.pool, `${afterIt[0]!.volumes[0]}.vol`),
          afterIt[0]!.id,
          (c) => {
            c.writeUInt32LE(c.readUInt32LE(3 * 8192 + 8) ^ 0x1000, 3 * 8192 + 8);
          },
        );
      },
      () => {
        const b = verify(newer);
        assert.equal(b.r.status, 3);
        assert.deepEqual(failed(b.report), ['backup WAL', 'WAL to latest']);
        assert.match(problems(b.report, 'backup WAL'), new RegExp(`WAL file ${own.name} is missing`));
        assert.match(
          problems(b.report, 'WAL to latest'),
          new RegExp(`WAL file ${afterIt[0]!.name}: page 3 \\(offset 24576\\): unexpected pageaddr`),
        );
      },
    );
  });

  it('finds a pg_control from another cluster', async () => {
    const other = await SandboxCluster.create({ dir: path.join(env.dir, 'other') });
    const foreign = fs.readFileSync(path.join(other.dataDir, 'global', 'pg_control'));
    const s = spaceSet(newer, 'pg_global');
    await withDamage(
      () =>
        editSaveSet(s.volume, s.id, (content) => {
          const e = entryContent(content, 'global/pg_control');
          foreign.copy(content, e.dataAt, 0, e.json.size);
        }),
      () => {
        const b = verify(newer);
        assert.equal(b.r.status, 3);
        assert.deepEqual(failed(b.report), ['pg_control']);
        assert.match(
          problems(b.report, 'pg_control'),
          /global\/pg_control: it belongs to database system \d+, the backup was taken of \d+/,
        );
        assert.equal(verify(older).r.status, 0);
      },
    );
  });

  it('backup --verify verifies what it just wrote', () => {
    const r = ok(openbar(['backup', '--verify'], { config: env.config }), 'backup --verify');
    assert.match(r.stdout, /verify: PASSED/);
  });
});
