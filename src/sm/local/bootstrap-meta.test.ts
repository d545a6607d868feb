import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
import { isNewerRecord } from '../../common/meta-reader.js';
import { decodeBootstrap, encodeBootstrap } from './bootstrap-meta.js';
import type { PoolRow } from './catalog.js';
import type { SaveSetInfo } from '../storage-manager.js';
import { storedSaveSet } from '../testing/stored-saveset.js';

/** The save set a volume's BEGIN record gives for `d` (its meta through JSON, as stored), `meta` fields replaced. */
const stored = storedSaveSet.bind(undefined, 3);

const pools: PoolRow[] = [
  {
    name: 'Data',
    device: '/srv/data',
    maxVolumeSize: 1 << 30,
    retentionDays: null,
    compression: null,
    created: '2026-11-22T01:02:03.000Z',
  },
  {
    name: 'Logs',
    device: '/srv/logs',
    maxVolumeSize: 1 << 28,
    retentionDays: 30,
    compression: 'zstd',
    created: '2026-11-22T01:02:03.000Z',
  },
];
const desc = encodeBootstrap('Data', { smId: 'sm-1', pools });

const refused = (meta: Record<string, unknown>, why: RegExp, more: Partial<SaveSetInfo> = {}) =>
  assert.throws(
    () => decodeBootstrap(stored(desc, meta, more), 'sm-1'),
    (e: unknown) =>
      isOpenbarError(e, 'FORMAT') &&
      !isNewerRecord(e) &&
      new RegExp(`^bootstrap save set 3: ${why.source}`).test(e.message),
  );

describe("bootstrap record (the storage manager's own)", () => {
  it('round-trips the storage manager and its pools, stored as its catalog', () => {
    assert.deepEqual(
      [desc.pool, desc.server, desc.name, desc.kind, desc.level, desc.meta!.metaVersion],
      ['Data', 'openbar-sm', 'catalog', 'bootstrap', null, 1],
    );
    assert.deepEqual(decodeBootstrap(stored(desc), 'sm-1'), {
      smId: 'sm-1',
      pools: [{ name: 'Data' }, { name: 'Logs' }],
    });
  });

  it('decodes a version-less meta (written before metas carried one) as version 1', () => {
    assert.equal(decodeBootstrap(stored({ ...desc, meta: { smId: 'sm-1', pools } }), 'sm-1').smId, 'sm-1');
  });

  it('refuses a meta of a newer version, saying so', () => {
    assert.throws(
      () => decodeBootstrap(stored(desc, { metaVersion: 2 }), 'sm-1'),
      (e: unknown) =>
        isNewerRecord(e) && /^bootstrap save set 3 was written by a newer openbar/.test((e as Error).message),
    );
  });

  it("refuses what is not this storage manager's bootstrap, naming the save set and why", () => {
    refused({}, /it is a save set of kind 'file'/, { kind: 'file' });
    refused({}, /it is stored as catalog of server main/, { server: 'main' });
    refused({}, /it is stored as x of server openbar-sm/, { name: 'x' });
    refused({ smId: 'sm-2' }, /it belongs to storage manager sm-2, not sm-1/);
    refused({ smId: undefined }, /its smId is missing/);
    refused({ pools: {} }, /its pools is \{\}/);
    refused({ pools: [{ device: '/srv' }] }, /pool 0: its name is missing/);
  });
});
