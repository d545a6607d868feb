import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
import { isNewerRecord } from '../../common/meta-reader.js';
import type { SaveSetInfo } from '../../sm/storage-manager.js';
import { storedSaveSet } from '../../sm/testing/stored-saveset.js';
import { decodeWal, encodeWal, type WalFields } from './wal-record.js';

/** The save set a storage manager returns for `d` (its meta through JSON, as stored), `meta` fields replaced. */
const stored = storedSaveSet.bind(undefined, 5);

const NAME = '000000010000000000000005';
const HASH = 'ab'.repeat(32);
const at = { pool: 'Logs', server: 'main', name: NAME };
const fields: WalFields = {
  walKind: 'segment',
  size: 16 << 20,
  contentHash: HASH,
  aid: 40,
  timeline: 1,
  systemId: '7311111111111111111',
  validBytes: 8192,
};
const desc = encodeWal(at, fields);

const refused = (meta: Record<string, unknown>, why: RegExp, more: Partial<SaveSetInfo> = {}) =>
  assert.throws(
    () => decodeWal(stored(desc, meta, more)),
    (e: unknown) =>
      isOpenbarError(e, 'FORMAT') &&
      !isNewerRecord(e) &&
      new RegExp(`^WAL save set 5 \\(${NAME}\\): ${why.source}`).test(e.message),
  );

describe('WAL record', () => {
  it("round-trips what `log archive` writes, the gate's system and valid bytes only when it found them", () => {
    assert.deepEqual([desc.kind, desc.name, desc.meta!.metaVersion], ['wal', NAME, 1]);
    assert.deepEqual(decodeWal(stored(desc)), fields);
    const plain = encodeWal(at, { walKind: 'history', size: 42, contentHash: HASH, aid: 41, timeline: 2 });
    assert.deepEqual(Object.keys(plain.meta!).sort(), [
      'aid',
      'contentHash',
      'metaVersion',
      'size',
      'timeline',
      'walKind',
    ]);
    assert.deepEqual(decodeWal(stored(plain)), {
      walKind: 'history',
      size: 42,
      contentHash: HASH,
      aid: 41,
      timeline: 2,
      systemId: undefined,
      validBytes: undefined,
    });
  });

  it('decodes the metas older openbars wrote (no version; then no timeline, no aid, no content hash)', () => {
    for (const meta of [
      { walKind: 'segment', size: 16 << 20, contentHash: HASH, aid: 40, timeline: 1 },
      { walKind: 'segment', size: 16 << 20, contentHash: HASH, aid: 40 },
      { walKind: 'segment', size: 16 << 20, contentHash: HASH },
      { walKind: 'segment', size: 16 << 20, sha256: 'cd'.repeat(32) },
      { walKind: 'partial', size: 16 << 20 },
    ]) {
      const m = decodeWal(stored({ ...desc, meta }));
      assert.equal(m.size, 16 << 20);
      assert.equal(m.contentHash, meta.contentHash);
      assert.equal(m.aid, meta.aid);
    }
  });

  it('refuses a meta of a newer version, saying so', () => {
    assert.throws(
      () => decodeWal(stored(desc, { metaVersion: 2 })),
      (e: unknown) =>
        isNewerRecord(e) &&
        new RegExp(`^WAL save set 5 \\(${NAME}\\) was written by a newer openbar`).test((e as Error).message),
    );
  });

  it('refuses each field that is not what a WAL file records, naming the save set and the field', () => {
    refused({}, /it is a save set of kind 'walsum'/, { kind: 'walsum' });
    refused({ walKind: 'log' }, /its walKind is "log" \(one of segment, history, backup, partial\)/);
    refused({ walKind: undefined }, /its walKind is missing/);
    refused({ size: -1 }, /its size is -1/);
    refused({ contentHash: 'AB'.repeat(32) }, /its contentHash is "ABAB/);
    refused({ contentHash: 7 }, /its contentHash is 7/);
    refused({ aid: 0 }, /its aid is 0/);
    refused({ timeline: -1 }, /its timeline is -1/);
    refused({ systemId: 73 }, /its systemId is 73/);
    refused({ validBytes: (16 << 20) + 1 }, /its validBytes is 16777217/);
    refused({ metaVersion: null }, /its metaVersion is null/);
  });
});
