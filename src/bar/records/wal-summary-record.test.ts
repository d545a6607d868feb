import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
import { isNewerRecord } from '../../common/meta-reader.js';
import type { SaveSetInfo } from '../../sm/storage-manager.js';
import { storedSaveSet } from '../../sm/testing/stored-saveset.js';
import { decodeWalSummary, encodeWalSummary } from './wal-summary-record.js';

/** The save set a storage manager returns for `d` (its meta through JSON, as stored), `meta` fields replaced. */
const stored = storedSaveSet.bind(undefined, 6);

const NAME = '000000010000000000000005';
const at = { pool: 'Logs', server: 'main', name: NAME };
const desc = encodeWalSummary(at, { aid: 40, size: 96, lastTransactionMs: 1_790_000_000_123 });

const refused = (meta: Record<string, unknown>, why: RegExp, more: Partial<SaveSetInfo> = {}) =>
  assert.throws(
    () => decodeWalSummary(stored(desc, meta, more)),
    (e: unknown) =>
      isOpenbarError(e, 'FORMAT') &&
      !isNewerRecord(e) &&
      new RegExp(`^WAL summary save set 6 \\(${NAME}\\): ${why.source}`).test(e.message),
  );

describe('WAL summary record', () => {
  it('round-trips its action (when stored by `log archive`), its size and when its last transaction ended (or that none did)', () => {
    assert.deepEqual([desc.kind, desc.name, desc.meta!.metaVersion], ['walsum', NAME, 1]);
    assert.deepEqual(decodeWalSummary(stored(desc)), { aid: 40, size: 96, lastTransactionMs: 1_790_000_000_123 });
    const later = encodeWalSummary(at, { size: 12, lastTransactionMs: null });
    assert.equal('aid' in later.meta!, false);
    assert.deepEqual(decodeWalSummary(stored(later)), { aid: undefined, size: 12, lastTransactionMs: null });
  });

  it('decodes the metas older openbars wrote: no version, no transaction time', () => {
    assert.deepEqual(decodeWalSummary(stored({ ...desc, meta: { aid: 40, size: 96 } })), {
      aid: 40,
      size: 96,
      lastTransactionMs: undefined,
    });
    assert.deepEqual(decodeWalSummary(stored({ ...desc, meta: { size: 96 } })), {
      aid: undefined,
      size: 96,
      lastTransactionMs: undefined,
    });
  });

  it('refuses a meta of a newer version, saying so', () => {
    assert.throws(
      () => decodeWalSummary(stored(desc, { metaVersion: 2 })),
      (e: unknown) => isNewerRecord(e) && /written by a newer openbar/.test((e as Error).message),
    );
  });

  it('refuses each field that is not what a summary records, naming the save set and the field', () => {
    refused({}, /it is a save set of kind 'wal'/, { kind: 'wal' });
    refused({ size: undefined }, /its size is missing/);
    refused({ size: 1.5 }, /its size is 1.5/);
    refused({ aid: 'x' }, /its aid is "x"/);
    refused({ lastTransactionMs: 'noon' }, /its lastTransactionMs is "noon" \(a time in ms, or null\)/);
  });
});
