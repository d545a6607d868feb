import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
import { isNewerRecord } from '../../common/meta-reader.js';
import type { SaveSetInfo } from '../../sm/storage-manager.js';
import { storedSaveSet } from '../../sm/testing/stored-saveset.js';
import { decodeSpacePart, encodeSpacePart, type SpacePartFields } from './space-part-record.js';

/** The save set a storage manager returns for `d` (its meta through JSON, as stored), `meta` fields replaced. */
const stored = storedSaveSet.bind(undefined, 21);

const level0: SpacePartFields = {
  aid: 12,
  part: 1,
  parts: 3,
  critical: false,
  oid: 16385,
  location: '/srv/ts1',
  startLsn: '0/5000028',
  timeline: 2,
};
const at = { pool: 'Data', server: 'main', space: 'ts1' };

const refused = (meta: Record<string, unknown>, why: RegExp, more: Partial<SaveSetInfo> = {}) =>
  assert.throws(
    () => decodeSpacePart(stored(encodeSpacePart({ ...at, level: 0 }, level0), meta, more)),
    (e: unknown) =>
      isOpenbarError(e, 'FORMAT') &&
      !isNewerRecord(e) &&
      new RegExp(`^space save set 21 \\(ts1\\): ${why.source}`).test(e.message),
  );

describe('space part record', () => {
  it('round-trips a level 0 part (no base) and a level 1 part (its base, base LSN and method)', () => {
    const d0 = encodeSpacePart({ ...at, level: 0 }, level0);
    assert.deepEqual([d0.kind, d0.name, d0.level, d0.meta!.metaVersion], ['space', 'ts1', 0, 1]);
    assert.equal('baseCopyId' in d0.meta!, false);
    assert.deepEqual(decodeSpacePart(stored(d0)), {
      ...level0,
      baseCopyId: null,
      baseLsn: undefined,
      method: undefined,
    });
    const d1 = encodeSpacePart(
      { ...at, level: 1 },
      { ...level0, incremental: { baseCopyId: 41, baseLsn: '0/3000028', method: 'scan' } },
    );
    const m = decodeSpacePart(stored(d1));
    assert.deepEqual([m.baseCopyId, m.baseLsn, m.method], [41, '0/3000028', 'scan']);
    const none = decodeSpacePart(
      stored(
        encodeSpacePart(
          { ...at, level: 2 },
          { ...level0, incremental: { baseCopyId: null, baseLsn: null, method: null } },
        ),
      ),
    );
    assert.deepEqual([none.baseCopyId, none.baseLsn, none.method], [null, null, null]);
  });

  it('decodes a version-less meta as version 1, and one with only what the history needs', () => {
    const d = encodeSpacePart({ ...at, level: 0 }, level0);
    const old = decodeSpacePart(stored(d, { metaVersion: undefined }));
    assert.equal(old.startLsn, '0/5000028');
    const bare = decodeSpacePart(stored({ ...d, meta: { aid: 3, part: 0, parts: 1 } }));
    assert.deepEqual([bare.aid, bare.part, bare.parts, bare.baseCopyId, bare.critical], [3, 0, 1, null, undefined]);
  });

  it('refuses a meta of a newer version, saying so', () => {
    assert.throws(
      () => decodeSpacePart(stored(encodeSpacePart({ ...at, level: 0 }, level0), { metaVersion: 3 })),
      (e: unknown) =>
        isNewerRecord(e) &&
        /^space save set 21 \(ts1\) was written by a newer openbar \(version 3/.test((e as Error).message),
    );
  });

  it('refuses each field that is not what a part records, naming the save set and the field', () => {
    refused({}, /it is a save set of kind 'label'/, { kind: 'label' });
    refused({ aid: undefined }, /its aid is missing/);
    refused({ parts: 0 }, /its parts is 0/);
    refused({ part: 3 }, /its part is 3/);
    refused({ part: -1 }, /its part is -1/);
    refused({ baseCopyId: 0 }, /its baseCopyId is 0/);
    refused({ critical: 1 }, /its critical is 1/);
    refused({ oid: '16385' }, /its oid is "16385"/);
    refused({ location: 'srv/ts1' }, /its location is "srv\/ts1"/);
    refused({ startLsn: 'now' }, /its startLsn is "now"/);
    refused({ timeline: 0 }, /its timeline is 0/);
    refused({ baseLsn: 5 }, /its baseLsn is 5/);
    refused({ method: 'guess' }, /its method is "guess" \(one of wal, scan\)/);
  });
});
