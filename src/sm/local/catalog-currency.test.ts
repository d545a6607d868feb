import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLog } from '../../common/activity-log.js';
import { ownerId } from '../../common/process-owner.js';
import { Catalog } from './catalog.js';
import { catalogPath, LocalStorageManager, type LocalOptions } from './local-storage-manager.js';
import { LocalTransaction } from './local-transaction.js';
import { decodeLabel, encodeLabel, LABEL_SIZE, type VolumeLabel } from './volume-format.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-currency-'));
const options = (name: string): LocalOptions => ({
  home: path.join(root, name),
  log: silentLog,
  maxVolumeSize: 64 * 1024 * 1024,
  write: { compression: 'none', compressionLevel: 1, recordSize: 64 * 1024, bufferCount: 2 },
});

async function store(opts: LocalOptions, names: readonly string[]): Promise<void> {
  const sm = LocalStorageManager.open(opts);
  for (const name of names) {
    const t = await sm.beginTransaction();
    const w = await t.createObject({ pool: 'Data', server: 'main', name, kind: 'file' });
    await w.write(Buffer.alloc(100_000, name.length));
    await w.close();
    await t.commit();
  }
  await sm.close();
}

const volume = (opts: LocalOptions) => path.join(opts.home, 'volumes', 'Data', 'Data.0001.vol');

describe('catalog against its volumes', () => {
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('refuses a catalog whose open volume was labelled again (recycled) since', async () => {
    const opts = options('relabelled');
    await LocalStorageManager.create(opts).close();
    await store(opts, ['a', 'b']);
    // what recycling does to a volume: cut back to its label, written again with a new date
    const file = volume(opts);
    const label = decodeLabel(fs.readFileSync(file).subarray(0, LABEL_SIZE)) as VolumeLabel;
    fs.truncateSync(file, LABEL_SIZE);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, encodeLabel({ ...label, created: '2030-01-01T00:00:00.000Z' }), 0, LABEL_SIZE, 0);
    fs.closeSync(fd);
    assert.throws(
      () => LocalStorageManager.open(opts),
      (err: Error & { code?: string }) =>
        err.code === 'CATALOG_BEHIND' &&
        /volume Data\.0001 was labelled again at 2030-01-01T00:00:00\.000Z/.test(err.message),
    );
  });

  it('never lets a mount cut committed records off as a torn tail, even past the check at open', async () => {
    const opts = options('mount');
    await LocalStorageManager.create(opts).close();
    await store(opts, ['a']);
    const old = path.join(root, 'catalog.old');
    fs.copyFileSync(catalogPath(opts.home), old);
    await store(opts, ['b', 'c']);
    fs.copyFileSync(old, catalogPath(opts.home));
    const before = fs.readFileSync(volume(opts));
    // a transaction on the old catalog, as one would run if nothing checked at open
    const catalog = Catalog.open(catalogPath(opts.home), { create: false });
    try {
      const owner = ownerId();
      const txn = new LocalTransaction(
        { catalog, home: opts.home, log: silentLog, owner, write: opts.write },
        catalog.beginTxn(owner),
      );
      await assert.rejects(
        txn.mount('Data'),
        (err: Error & { code?: string }) =>
          err.code === 'CATALOG_BEHIND' &&
          /volume Data\.0001 holds transaction 3 past its catalogued end/.test(err.message),
      );
      assert.equal(catalog.volumeByLabel('Data.0001')!.state, 'open', 'the volume is sound: not set aside as damaged');
    } finally {
      catalog.close();
    }
    assert.deepEqual(fs.readFileSync(volume(opts)), before, 'not a byte cut');
  });
});
