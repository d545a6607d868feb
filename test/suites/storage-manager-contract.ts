// The contract every StorageManager implementation passes (the in-process one now,
// the network one later): transactions are atomic, aborted work leaves nothing,
// queries filter as documented, and every byte comes back as it went in.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, after } from 'node:test';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StorageManager } from '../../src/sm/storage-manager.js';

export interface ContractFixture {
  readonly sm: StorageManager;
  /** pool names that exist in this storage manager */
  readonly pools: { data: string; logs: string };
  dispose(): Promise<void>;
}

async function readAll(sm: StorageManager, id: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of sm.read(id)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function store(
  sm: StorageManager,
  pool: string,
  name: string,
  data: Buffer,
  extra: { kind?: string; level?: number; meta?: Record<string, unknown> } = {},
) {
  const txn = await sm.beginTransaction();
  const w = await txn.createObject({
    pool,
    server: 'contract',
    name,
    kind: extra.kind ?? 'file',
    level: extra.level ?? null,
    meta: extra.meta ?? {},
  });
  await w.write(data);
  await w.close();
  const [info] = await txn.commit();
  return info!;
}

export function storageManagerContract(name: string, make: () => Promise<ContractFixture>): void {
  describe(`storage manager contract: ${name}`, () => {
    let fx: ContractFixture;
    const ready = make().then((f) => {
      fx = f;
    });
    after(async () => {
      await ready;
      await fx.dispose();
    });

    it('stores and returns bytes exactly, with sizes and hash', async () => {
      await ready;
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const info = await store(fx.sm, fx.pools.data, 'round-trip', data);
      assert.equal(info.rawBytes, data.length);
      assert.match(info.hash, /^[0-9a-f]{64}$/);
      assert.deepEqual(await readAll(fx.sm, info.id), data);
      // the same bytes stored again hash the same
      const again = await store(fx.sm, fx.pools.data, 'round-trip-2', data);
      assert.equal(again.hash, info.hash);
    });

    it('stores an empty object', async () => {
      await ready;
      const info = await store(fx.sm, fx.pools.data, 'empty', Buffer.alloc(0));
      assert.equal(info.rawBytes, 0);
      assert.equal((await readAll(fx.sm, info.id)).length, 0);
    });

    it('makes nothing visible before commit, and nothing after abort', async () => {
      await ready;
      const txn = await fx.sm.beginTransaction();
      const w = await txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'aborted', kind: 'file' });
      await w.write(randomBytes(2 * 1024 * 1024));
      await w.close();
      assert.equal((await fx.sm.query({ name: 'aborted' })).length, 0, 'visible before commit');
      await txn.abort();
      assert.equal((await fx.sm.query({ name: 'aborted' })).length, 0, 'visible after abort');
      // the storage manager still works after an abort
      const info = await store(fx.sm, fx.pools.data, 'after-abort', Buffer.from('still fine'));
      assert.equal((await readAll(fx.sm, info.id)).toString(), 'still fine');
    });

    it('commits several objects of one transaction together, written in parallel', async () => {
      await ready;
      const txn = await fx.sm.beginTransaction();
      const blobs = [randomBytes(1_500_000), randomBytes(2_500_000), randomBytes(10)];
      const writers = await Promise.all(
        blobs.map((_, i) =>
          txn.createObject({ pool: fx.pools.data, server: 'contract', name: `par-${i}`, kind: 'space', level: 0 }),
        ),
      );
      await Promise.all(
        writers.map(async (w, i) => {
          for (let off = 0; off < blobs[i]!.length; off += 300_000)
            await w.write(blobs[i]!.subarray(off, off + 300_000));
          await w.close();
        }),
      );
      assert.equal((await fx.sm.query({ kind: 'space' })).length, 0);
      const infos = await txn.commit();
      assert.equal(infos.length, 3);
      for (const [i, info] of infos.entries()) assert.deepEqual(await readAll(fx.sm, info.id), blobs[i]);
    });

    it('takes data poured straight into its buffers, and lends chunks without copies', async () => {
      await ready;
      const data = randomBytes(3 * 1024 * 1024 + 5);
      const txn = await fx.sm.beginTransaction();
      const w = await txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'poured', kind: 'file' });
      for (let pos = 0; pos < data.length;) {
        pos += await w.pour(async (space) => {
          const n = Math.min(space.length, 100_000, data.length - pos);
          data.copy(space, 0, pos, pos + n);
          return n;
        });
      }
      await w.close();
      const [info] = await txn.commit();
      const got: Buffer[] = [];
      for await (const c of fx.sm.readChunks(info!.id)) got.push(Buffer.from(c));
      assert.deepEqual(Buffer.concat(got), data);
    });

    it('accepts data through a stream pipeline', async () => {
      await ready;
      const data = randomBytes(5 * 1024 * 1024);
      const txn = await fx.sm.beginTransaction();
      const w = await txn.createObject({ pool: fx.pools.logs, server: 'contract', name: 'piped', kind: 'wal' });
      await pipeline(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), w.stream());
      const [info] = await txn.commit();
      assert.deepEqual(await readAll(fx.sm, info!.id), data);
      assert.equal(info!.pool, fx.pools.logs);
    });

    it('queries by server, name, kind, level, pool and time, and keeps meta', async () => {
      await ready;
      const before = new Date(Date.now() - 1000).toISOString();
      const a = await store(fx.sm, fx.pools.data, 'q-space', Buffer.from('a'), {
        kind: 'qspace',
        level: 1,
        meta: { lsn: '0/1000028', base: 7 },
      });
      await store(fx.sm, fx.pools.data, 'q-space', Buffer.from('b'), { kind: 'qspace', level: 2 });
      assert.deepEqual(
        (await fx.sm.query({ kind: 'qspace', level: 1 })).map((s) => s.id),
        [a.id],
      );
      assert.equal((await fx.sm.query({ name: 'q-space' })).length, 2);
      assert.equal((await fx.sm.query({ name: 'q-space', server: 'nobody' })).length, 0);
      assert.equal((await fx.sm.query({ name: 'q-space', pool: fx.pools.logs })).length, 0);
      assert.equal((await fx.sm.query({ name: 'q-space', after: before })).length, 2);
      assert.equal((await fx.sm.query({ name: 'q-space', before })).length, 0);
      assert.deepEqual((await fx.sm.query({ id: a.id }))[0]!.meta, { lsn: '0/1000028', base: 7 });
    });

    it('deletes objects for good', async () => {
      await ready;
      const a = await store(fx.sm, fx.pools.data, 'to-delete', Buffer.from('x'));
      await fx.sm.delete([a.id]);
      assert.equal((await fx.sm.query({ id: a.id })).length, 0);
      assert.throws(
        () => fx.sm.read(a.id),
        (e: Error & { code?: string }) => e.code === 'NOT_FOUND',
      );
    });

    it('refuses bad names and unknown pools before writing anything', async () => {
      await ready;
      const txn = await fx.sm.beginTransaction();
      await assert.rejects(
        txn.createObject({ pool: fx.pools.data, server: 'contract', name: '../etc', kind: 'file' }),
        (e: Error & { code?: string }) => e.code === 'BAD_NAME',
      );
      await assert.rejects(
        txn.createObject({ pool: 'NoSuchPool', server: 'contract', name: 'x', kind: 'file' }),
        (e: Error & { code?: string }) => e.code === 'NOT_FOUND',
      );
      await txn.abort();
    });

    // What follows holds any implementation to what the in-process one refuses: one that
    // takes more (a remote one, an in-memory one) would let tests pass that fail for real.

    it('refuses bad server and kind names too', async () => {
      await ready;
      const txn = await fx.sm.beginTransaction();
      await assert.rejects(
        txn.createObject({ pool: fx.pools.data, server: 'a/b', name: 'x', kind: 'file' }),
        isCode('BAD_NAME'),
      );
      await assert.rejects(
        txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'x', kind: '..' }),
        isCode('BAD_NAME'),
      );
      await txn.abort();
    });

    it('refuses to commit an object left open, and any use of a transaction once it ended', async () => {
      await ready;
      const txn = await fx.sm.beginTransaction();
      const w = await txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'left-open', kind: 'file' });
      await w.write(Buffer.from('half'));
      await assert.rejects(txn.commit(), isCode('USAGE'));
      assert.equal((await fx.sm.query({ name: 'left-open' })).length, 0);
      await w.close();
      const infos = await txn.commit(); // the failed commit left it open
      assert.deepEqual(
        infos.map((i) => i.id),
        [w.id],
      );
      await assert.rejects(txn.commit(), isCode('USAGE'));
      await assert.rejects(
        txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'late', kind: 'file' }),
        isCode('USAGE'),
      );
      await txn.abort(); // a no-op once committed: the object stays
      assert.equal((await fx.sm.query({ id: w.id })).length, 1);
    });

    it('refuses writes to an object once closed, and to one whose transaction aborted', async () => {
      await ready;
      const txn = await fx.sm.beginTransaction();
      const w = await txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'closed', kind: 'file' });
      await w.close();
      await assert.rejects(w.write(Buffer.from('more')), isCode('USAGE'));
      await assert.rejects(w.close(), isCode('USAGE'));
      const v = await txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'abandoned', kind: 'file' });
      await v.write(Buffer.from('some'));
      await txn.abort();
      await assert.rejects(v.write(Buffer.from('more')));
      assert.equal((await fx.sm.query({ name: 'closed' })).length, 0);
      assert.equal((await fx.sm.query({ name: 'abandoned' })).length, 0);
    });

    it('refuses a pour that says it filled more than the space it was given', async () => {
      await ready;
      const txn = await fx.sm.beginTransaction();
      const w = await txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'overpour', kind: 'file' });
      await assert.rejects(
        w.pour(async (space) => space.length + 1),
        isCode('INTERNAL'),
      );
      await txn.abort();
    });

    it('commits only its own objects; another open transaction stays invisible until it commits', async () => {
      await ready;
      const [a, b] = [await fx.sm.beginTransaction(), await fx.sm.beginTransaction()];
      const wa = await a.createObject({ pool: fx.pools.data, server: 'contract', name: 'txn-a', kind: 'file' });
      const wb = await b.createObject({ pool: fx.pools.data, server: 'contract', name: 'txn-b', kind: 'file' });
      await Promise.all([wa.write(Buffer.from('a')), wb.write(Buffer.from('b'))]);
      await Promise.all([wa.close(), wb.close()]);
      assert.deepEqual(
        (await a.commit()).map((i) => i.name),
        ['txn-a'],
      );
      assert.equal((await fx.sm.query({ name: 'txn-b' })).length, 0);
      assert.deepEqual(
        (await b.commit()).map((i) => i.name),
        ['txn-b'],
      );
      assert.equal((await readAll(fx.sm, wb.id)).toString(), 'b');
    });

    it('says NOT_FOUND for an object that is not there: unknown, still being written, or deleted', async () => {
      await ready;
      assert.throws(() => fx.sm.read(2 ** 31), isCode('NOT_FOUND'));
      assert.throws(() => fx.sm.readChunks(2 ** 31), isCode('NOT_FOUND'));
      await assert.rejects(fx.sm.checkStored(2 ** 31), isCode('NOT_FOUND'));
      const txn = await fx.sm.beginTransaction();
      const w = await txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'unseen', kind: 'file' });
      await w.close();
      assert.throws(() => fx.sm.readChunks(w.id), isCode('NOT_FOUND'));
      await txn.abort();
      assert.throws(() => fx.sm.readChunks(w.id), isCode('NOT_FOUND'));
    });

    it('deletes all or nothing: an unknown id among them fails the delete before anything goes', async () => {
      await ready;
      const a = await store(fx.sm, fx.pools.data, 'kept-by-failed-delete', Buffer.from('x'));
      await assert.rejects(fx.sm.delete([a.id, 2 ** 31]), isCode('NOT_FOUND'));
      assert.equal((await readAll(fx.sm, a.id)).toString(), 'x');
    });

    it('never hands out an id twice, after an abort or a delete', async () => {
      await ready;
      const a = await store(fx.sm, fx.pools.data, 'id-1', Buffer.from('1'));
      const txn = await fx.sm.beginTransaction();
      const w = await txn.createObject({ pool: fx.pools.data, server: 'contract', name: 'id-aborted', kind: 'file' });
      await txn.abort();
      await fx.sm.delete([a.id]);
      const b = await store(fx.sm, fx.pools.data, 'id-2', Buffer.from('2'));
      assert.ok(w.id > a.id && b.id > w.id, `ids ${a.id}, ${w.id}, ${b.id}`);
    });

    it('keeps meta as JSON: nested values come back equal, and a query hands out its own copy', async () => {
      await ready;
      const meta = {
        spaces: [{ name: 'pg_global', critical: true, oid: null }],
        walFiles: ['000000010000000000000002'],
        n: 1.5,
        none: null,
      };
      const a = await store(fx.sm, fx.pools.data, 'meta-json', Buffer.from('m'), { meta });
      const [got] = await fx.sm.query({ id: a.id });
      assert.deepEqual(got!.meta, meta);
      (got!.meta as Record<string, unknown>).n = 2;
      assert.equal((await fx.sm.query({ id: a.id }))[0]!.meta.n, 1.5);
    });

    it('passes checkStored for an intact object, and stops a read whose signal is aborted', async () => {
      await ready;
      const a = await store(fx.sm, fx.pools.data, 'checked', randomBytes(600_000));
      await fx.sm.checkStored(a.id);
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(
        async () => {
          for await (const _ of fx.sm.readChunks(a.id, { signal: ac.signal })) {
            /* nothing */
          }
        },
        { name: 'AbortError' },
      );
    });
  });
}

function isCode(code: string) {
  return (e: Error & { code?: string }) => e.code === code;
}
