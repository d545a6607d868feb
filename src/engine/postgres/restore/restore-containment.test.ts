// A restore never writes outside its target: crafted space streams (made with the
// format's own encoder) fed to the restore loop as a level 0 and as each level of a chain,
// and what the label leaves to finish().
// Every case checks a directory beside the target stays empty.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isOpenbarError, type ErrorCode } from '../../../common/errors.js';
import { restoreChainStreams } from './chain-restorer.js';
import { spaceStream, type StreamItem } from './test-streams.js';
import { postgresOffline } from '../offline-engine.js';
import type { FileEntry } from '../format/space-stream.js';

const PAGE = 8192;
const made: string[] = [];
/** a target directory and an empty one beside it, which nothing may reach */
function dirs(): { root: string; outside: string } {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-contain-'));
  made.push(base);
  fs.mkdirSync(path.join(base, 'outside'));
  return { root: path.join(base, 'data'), outside: path.join(base, 'outside') };
}

type Item = StreamItem;
const file = (p: string, data: Buffer, extra: Partial<FileEntry> = {}): Item => ({
  entry: { path: p, type: 'file', mode: 0o600, mtimeMs: 0, size: data.length, ...extra },
  data,
});
const dir = (p: string): Item => ({ entry: { path: p, type: 'dir', mode: 0o700, mtimeMs: 0, size: 0 } });
const link = (p: string, target: string): Item => ({
  entry: { path: p, type: 'symlink', mode: 0o777, mtimeMs: 0, size: 0, target },
});

function stream(items: readonly Item[], level = 0): () => AsyncIterable<Buffer> {
  return spaceStream('pg_global', level, items, 5000);
}

/**
 * The restore loop three ways: a level 0 (a chain of one), and a chain with the crafted
 * stream as its newest level, or as the level 0 under an empty newest level (it writes
 * nothing there: only its decoding is tried).
 */
const restorers: [string, (items: readonly Item[], root: string) => Promise<unknown>, boolean][] = [
  ['level 0', (items, root) => restoreChainStreams([{ level: 0, parts: [stream(items)] }], root), true],
  [
    'chain, newest level',
    (items, root) =>
      restoreChainStreams(
        [
          { level: 1, parts: [stream(items, 1)] },
          { level: 0, parts: [stream([])] },
        ],
        root,
      ),
    true,
  ],
  [
    'chain, level 0 under an empty level 1',
    (items, root) =>
      restoreChainStreams(
        [
          { level: 1, parts: [stream([], 1)] },
          { level: 0, parts: [stream(items)] },
        ],
        root,
      ),
    false,
  ],
];

async function refused(run: Promise<unknown>, code: ErrorCode, names: string, outside: string): Promise<void> {
  await assert.rejects(run, (err) => {
    assert.ok(isOpenbarError(err, code), `expected ${code}, got ${String(err)}`);
    assert.ok(err.message.includes(names), `'${err.message}' does not name ${names}`);
    return true;
  });
  assert.deepEqual(fs.readdirSync(outside), [], 'nothing written outside the target');
}

describe('a restore writes nothing outside its target', () => {
  after(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const [name, restore, writes] of restorers) {
    describe(name, () => {
      it('refuses a symbolic link entry pointing outside, and the file through it', async () => {
        const { root, outside } = dirs();
        await refused(
          restore([link('global', outside), file('global/pg_control', Buffer.from('x'))], root),
          'FORMAT',
          "entry 'global'",
          outside,
        );
        assert.equal(fs.existsSync(path.join(root, 'global')), false, 'no link made');
      });

      it('refuses a path with .., an absolute path and a path not normalised', async () => {
        const { root, outside } = dirs();
        for (const p of [
          '../outside/x',
          'global/../../outside/x',
          path.join(outside, 'x'),
          'global/./pg_control',
          'global//pg_control',
          'global/',
        ]) {
          await refused(restore([file(p, Buffer.from('x'))], root), 'FORMAT', JSON.stringify(p), outside);
        }
        assert.equal(fs.existsSync(path.join(root, 'global')), false);
      });

      if (!writes) return;

      it('refuses a symbolic link already in the target in place of a directory', async () => {
        const { root, outside } = dirs();
        fs.mkdirSync(root);
        fs.symlinkSync(outside, path.join(root, 'global'));
        await refused(
          restore([dir('global'), file('global/pg_control', Buffer.from('x'))], root),
          'CONFLICT',
          path.join(root, 'global'),
          outside,
        );
        fs.rmSync(path.join(root, 'global'));
        fs.mkdirSync(path.join(root, 'global'));
        fs.symlinkSync(outside, path.join(root, 'global', '1'));
        await refused(
          restore([file('global/1/1259', Buffer.alloc(PAGE))], root),
          'CONFLICT',
          path.join(root, 'global', '1'),
          outside,
        );
      });

      it('refuses a symbolic link already in the target in place of a file (small, large, a page list)', async () => {
        const { root, outside } = dirs();
        fs.mkdirSync(root);
        const large = Buffer.alloc(2 * 1024 * 1024, 1);
        for (const item of [
          file('PG_VERSION', Buffer.from('15\n')),
          file('big', large),
          file('paged', Buffer.alloc(PAGE, 2), { size: 4 * PAGE, pages: [1] }),
        ]) {
          const p = item.entry.path;
          fs.symlinkSync(path.join(outside, p), path.join(root, p)); // dangling: following it would create the file outside
          await refused(restore([item], root), 'CONFLICT', path.join(root, p), outside);
        }
      });

      it('makes no link from the stream where PostgreSQL has one: pg_wal and pg_tblspc/OID are plain directories', async () => {
        const { root, outside } = dirs();
        await restore(
          [
            link('pg_wal', outside),
            file('pg_wal/000000010000000000000001', Buffer.from('wal')),
            dir('pg_tblspc'),
            link('pg_tblspc/16385', outside),
            file('pg_tblspc/16385/PG_15_202209061/f', Buffer.from('ts')),
          ],
          root,
        );
        assert.deepEqual(fs.readdirSync(outside), []);
        assert.ok(fs.lstatSync(path.join(root, 'pg_wal')).isDirectory());
        assert.equal(fs.readFileSync(path.join(root, 'pg_wal/000000010000000000000001'), 'utf8'), 'wal');
        assert.ok(fs.lstatSync(path.join(root, 'pg_tblspc/16385')).isDirectory());
      });

      it('restores permission bits only, never set-user-id, set-group-id or sticky', async () => {
        const { root } = dirs();
        await restore(
          [
            file('tool', Buffer.from('#!/bin/sh\n'), { mode: 0o6755 }),
            file('big', Buffer.alloc(512 * 1024), { mode: 0o1640 }),
          ],
          root,
        );
        assert.equal(fs.statSync(path.join(root, 'tool')).mode & 0o7777, 0o755);
        assert.equal(fs.statSync(path.join(root, 'big')).mode & 0o7777, 0o640);
      });
    });
  }

  describe('the label and the last step (finish)', () => {
    const recovery = {
      target: { kind: 'latest' as const },
      timeline: 1,
      restoreCommand: 'true',
      archiveMode: 'off' as const,
    };

    it('refuses a label file that is not backup_label or tablespace_map', async () => {
      const { root, outside } = dirs();
      fs.mkdirSync(root);
      await refused(
        postgresOffline.finish(root, {
          labelFiles: [{ name: '../outside/x', content: 'x' }],
          tablespaces: [],
          recovery,
        }),
        'FORMAT',
        '"../outside/x"',
        outside,
      );
    });

    it('refuses a recorded tablespace oid or location that could name another place', async () => {
      const { root, outside } = dirs();
      fs.mkdirSync(root);
      const space = { name: 'ts', critical: false, oid: 16385, location: outside };
      assert.throws(
        () => postgresOffline.spaceRoot(root, { ...space, location: 'relative/dir' }, undefined),
        (e) => isOpenbarError(e, 'FORMAT') && /relative\/dir/.test(e.message),
      );
      assert.throws(
        () => postgresOffline.spaceRoot(root, { ...space, oid: '../../x' as unknown as number }, undefined),
        (e) => isOpenbarError(e, 'FORMAT') && /"\.\.\/\.\.\/x"/.test(e.message),
      );
      await refused(
        postgresOffline.finish(root, { labelFiles: [], tablespaces: [{ oid: -1, location: outside }], recovery }),
        'FORMAT',
        'oid -1',
        outside,
      );
    });

    it('refuses links an earlier run left in the target: pg_tblspc, postgresql.auto.conf', async () => {
      const { root, outside } = dirs();
      fs.mkdirSync(root);
      fs.symlinkSync(outside, path.join(root, 'pg_tblspc'));
      await refused(
        postgresOffline.finish(root, { labelFiles: [], tablespaces: [{ oid: 16385, location: outside }], recovery }),
        'CONFLICT',
        path.join(root, 'pg_tblspc'),
        outside,
      );
      fs.rmSync(path.join(root, 'pg_tblspc'));
      fs.symlinkSync(path.join(outside, 'auto.conf'), path.join(root, 'postgresql.auto.conf'));
      await refused(
        postgresOffline.finish(root, { labelFiles: [], tablespaces: [], recovery }),
        'CONFLICT',
        'postgresql.auto.conf',
        outside,
      );
    });

    it("checks pg_default's root, a data directory's base/, is not a link (the data directory may be one)", async () => {
      const { root, outside } = dirs();
      const real = `${root}-real`;
      made.push(real);
      fs.mkdirSync(real);
      fs.symlinkSync(real, root);
      const base = postgresOffline.spaceRoot(
        root,
        { name: 'pg_default', critical: false, oid: null, location: null },
        undefined,
      );
      fs.symlinkSync(outside, base);
      await refused(
        postgresOffline.restoreSpace(stream([file('1/1259', Buffer.alloc(PAGE))])(), base, {}),
        'CONFLICT',
        base,
        outside,
      );
      fs.rmSync(base);
      await postgresOffline.restoreSpace(stream([file('1/1259', Buffer.alloc(PAGE))])(), base, {});
      assert.equal(fs.statSync(path.join(real, 'base/1/1259')).size, PAGE);
    });

    it("cannot be made to link pg_wal elsewhere: openbar's own files refused in a stream, the link only where preparing found one", async () => {
      const { root, outside } = dirs();
      fs.mkdirSync(root);
      // a directory the hostile stream names as the WAL directory: its files must stay put
      const victim = path.join(path.dirname(root), 'victim');
      fs.mkdirSync(victim);
      fs.writeFileSync(path.join(victim, 'precious'), 'x');
      for (const name of ['openbar_pg_wal_link', '.openbar_restore', 'openbar_restored_copy']) {
        await refused(
          postgresOffline.restoreSpace(stream([dir('pg_wal'), file(name, Buffer.from(`${victim}\n`))])(), root, {}),
          'FORMAT',
          name,
          outside,
        );
      }
      // a mark left in the directory (by an earlier build, or forged) is not believed
      fs.writeFileSync(path.join(root, 'openbar_pg_wal_link'), `${victim}\n`);
      await postgresOffline.finish(root, { labelFiles: [], tablespaces: [], recovery });
      assert.ok(fs.lstatSync(path.join(root, 'pg_wal')).isDirectory(), 'pg_wal a plain directory');
      assert.deepEqual(fs.readdirSync(victim), ['precious']);
      // what prepareDirectory found is put back
      const wal = path.join(path.dirname(root), 'wal');
      fs.mkdirSync(wal);
      fs.rmSync(path.join(root, 'pg_wal'), { recursive: true });
      fs.symlinkSync(wal, path.join(root, 'pg_wal'));
      fs.writeFileSync(path.join(root, 'PG_VERSION'), '15\n');
      const prepared = postgresOffline.prepareDirectory(root, 'data');
      assert.deepEqual(prepared, { walLink: wal });
      await postgresOffline.finish(root, { labelFiles: [], tablespaces: [], recovery, prepared });
      assert.equal(fs.readlinkSync(path.join(root, 'pg_wal')), wal);
      assert.deepEqual(fs.readdirSync(victim), ['precious']);
    });
  });
});
