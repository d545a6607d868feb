// What the contract suite cannot say of every implementation: the in-memory one finds
// damage done to its media, lends chunks strictly, keeps its writers' buffers bounded,
// and forgets on reopening what no transaction committed.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ContentHasher, digestOf } from '../../common/io/content-hash.js';
import { isOpenbarError } from '../../common/errors.js';
import type { StorageManager } from '../storage-manager.js';
import { MemoryMedia } from './memory-media.js';
import { MemoryStorageManager } from './memory-storage-manager.js';

const RECORD = 64 * 1024;

async function store(sm: StorageManager, data: Buffer, name = 'obj'): Promise<number> {
  const txn = await sm.beginTransaction();
  const w = await txn.createObject({ pool: 'Data', server: 'mem', name, kind: 'file' });
  await w.write(data);
  await w.close();
  return (await txn.commit())[0]!.id;
}

async function readAll(sm: StorageManager, id: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of sm.readChunks(id)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

const code = (c: string, re?: RegExp) => (e: unknown) =>
  isOpenbarError(e) && e.code === c && (!re || re.test(e.message));

describe('in-memory storage manager', () => {
  it('hashes as the interface says: BLAKE3 over the digests of records of recordSize bytes', async () => {
    const sm = MemoryStorageManager.create({ recordSize: RECORD });
    const data = randomBytes(3 * RECORD + 10);
    const id = await store(sm, data);
    const h = new ContentHasher();
    for (let at = 0; at < data.length; at += RECORD) h.update(digestOf(data.subarray(at, at + RECORD)));
    const [info] = await sm.query({ id });
    assert.equal(info!.hash, h.hex());
    assert.equal(info!.records, 4);
    assert.equal(info!.compression, 'none');
  });

  it('finds a flipped byte on reading and on checkStored, naming the save set, pool and offset', async () => {
    const sm = MemoryStorageManager.create({ recordSize: RECORD });
    const id = await store(sm, randomBytes(2 * RECORD), 'flipped');
    sm.media.sets.get(id)!.records[1]!.bytes[5]! ^= 1;
    await assert.rejects(
      readAll(sm, id),
      code('CHECKSUM', /save set \d+ \(flipped\): record checksum mismatch in memory pool Data at offset 65536/),
    );
    await assert.rejects(sm.checkStored(id), code('CHECKSUM'));
  });

  it('finds records cut off, records out of order, and a missing END', async () => {
    const sm = MemoryStorageManager.create({ recordSize: RECORD });
    const cut = await store(sm, randomBytes(3 * RECORD), 'cut');
    sm.media.sets.get(cut)!.records.pop();
    await assert.rejects(sm.checkStored(cut), code('FORMAT', /END says 3 records/));
    const swapped = await store(sm, randomBytes(2 * RECORD), 'swapped');
    sm.media.sets.get(swapped)!.records.reverse();
    await assert.rejects(readAll(sm, swapped), code('FORMAT', /out of sequence/));
    const endless = await store(sm, randomBytes(10), 'endless');
    sm.media.sets.get(endless)!.end = undefined;
    await assert.rejects(readAll(sm, endless), code('TRUNCATED', /END record missing/));
  });

  it('finds records replaced whole (CRCs that check out): the whole-set hash does not', async () => {
    const sm = MemoryStorageManager.create({ recordSize: RECORD });
    const id = await store(sm, randomBytes(2 * RECORD), 'replaced');
    const records = sm.media.sets.get(id)!.records;
    records[0] = MemoryMedia.record(1, randomBytes(RECORD));
    await sm.checkStored(id); // media checks only: the content is not hashed
    await assert.rejects(readAll(sm, id), code('CHECKSUM', /whole-set hash mismatch/));
  });

  it('lends one buffer: a chunk kept past its turn does not hold its bytes', async () => {
    const sm = MemoryStorageManager.create({ recordSize: RECORD });
    const data = randomBytes(2 * RECORD);
    const id = await store(sm, data);
    const kept: Buffer[] = [];
    for await (const c of sm.readChunks(id)) kept.push(c);
    assert.equal(kept.length, 2);
    assert.ok(!kept[0]!.equals(data.subarray(0, RECORD)));
    assert.deepEqual(Buffer.concat(await sm.read(id).toArray()), data); // read() hands out copies
  });

  it('holds at most bufferCount transfer buffers: a pourAhead waits while its fills have not arrived', async () => {
    const sm = MemoryStorageManager.create({ recordSize: RECORD, bufferCount: 2 });
    const txn = await sm.beginTransaction();
    const w = await txn.createObject({ pool: 'Data', server: 'mem', name: 'ahead', kind: 'file' });
    const pending: (() => void)[] = [];
    let fills = 0;
    const fill = (space: Buffer) => {
      space.fill(++fills);
      return { bytes: space.length, arrived: new Promise<void>((r) => pending.push(r)) };
    };
    await w.pourAhead!(fill);
    await w.pourAhead!(fill);
    let third = false;
    const next = w.pourAhead!(fill).then(() => {
      third = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(third, false, 'a third buffer was handed out while two were arriving');
    pending.shift()!();
    await next;
    for (const p of pending) p();
    await w.close();
    const [info] = await txn.commit();
    const got = await readAll(sm, info!.id);
    assert.deepEqual([...new Set(got)], [1, 2, 3]);
  });

  it('fails the object when a fill poured ahead fails', async () => {
    const sm = MemoryStorageManager.create({ recordSize: RECORD });
    const txn = await sm.beginTransaction();
    const w = await txn.createObject({ pool: 'Data', server: 'mem', name: 'failed-fill', kind: 'file' });
    await w.pourAhead!((space) => ({ bytes: space.length, arrived: Promise.reject(new Error('read failed')) }));
    await assert.rejects(w.close(), /read failed/);
    await txn.abort();
    assert.equal((await sm.query({ name: 'failed-fill' })).length, 0);
  });

  it('opened again over its media: committed sets are there, sets being written are gone', async () => {
    const first = MemoryStorageManager.create({ recordSize: RECORD });
    const kept = await store(first, Buffer.from('kept'));
    const txn = await first.beginTransaction();
    const w = await txn.createObject({ pool: 'Data', server: 'mem', name: 'torn', kind: 'file' });
    await w.write(Buffer.from('never committed'));
    await first.close();
    await assert.rejects(first.query({}), code('USAGE'));
    const again = MemoryStorageManager.open(first.media, { recordSize: RECORD });
    assert.equal((await readAll(again, kept)).toString(), 'kept');
    assert.equal([...again.media.sets.keys()].includes(w.id), false);
    assert.ok((await store(again, Buffer.from('next'))) > w.id);
  });

  it('refuses record sizes outside xfer_buf_size bounds', () => {
    assert.throws(() => MemoryStorageManager.create({ recordSize: 1000 }), code('CONFIG'));
    assert.throws(() => MemoryStorageManager.create({ recordSize: 32 * 1024 * 1024 }), code('CONFIG'));
  });
});
