import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
import { isNewerRecord } from '../../common/meta-reader.js';
import type { SaveSetInfo } from '../../sm/storage-manager.js';
import { storedSaveSet } from '../../sm/testing/stored-saveset.js';
import {
  decodeLabelContent,
  decodeLabelEntry,
  decodeLabelMeta,
  encodeLabel,
  encodeLabelContent,
  type LabelFields,
} from './label-record.js';

/** The save set a storage manager returns for `d` (its meta through JSON, as stored), `meta` fields replaced. */
const stored = storedSaveSet.bind(undefined, 7);

const fields: LabelFields = {
  aid: 12,
  startLsn: '0/5000028',
  stopLsn: '0/5000100',
  timeline: 1,
  startWal: '000000010000000000000005',
  startTime: '2026-11-22T01:02:03.000Z',
  stopTime: '2026-11-22T01:02:09.000Z',
  nextXid: '745',
  walFiles: ['000000010000000000000005'],
  systemId: '7311111111111111111',
  walSegmentSize: 16 * 1024 * 1024,
  pgVersion: 150004,
  checksums: true,
  spaces: [
    { name: 'pg_global', critical: true, oid: null, location: null },
    { name: 'ts1', critical: false, oid: 16385, location: '/srv/ts1' },
  ],
  levels: [{ space: 'pg_global', level: 1, baseCopyId: 41, baseAid: 11, method: 'wal' }],
};
const desc = encodeLabel({ pool: 'Data', server: 'main', level: 1 }, fields);
const expect = { server: 'main', aid: 12 };

/** The label meta an openbar of the first version wrote: no version field, no checksums, no levels. */
const oldMeta = (): Record<string, unknown> => {
  const m: Record<string, unknown> = { ...desc.meta };
  for (const k of ['metaVersion', 'checksums', 'levels']) delete m[k];
  return m;
};

const refused = (f: () => unknown, message: RegExp) =>
  assert.throws(f, (e: unknown) => isOpenbarError(e, 'FORMAT') && !isNewerRecord(e) && message.test(e.message));

describe('label record: meta', () => {
  it("round-trips what a backup writes, with its version and PostgreSQL's as `version`", () => {
    assert.equal(desc.kind, 'label');
    assert.equal(desc.name, 'backup_label');
    assert.equal(desc.meta!.metaVersion, 1);
    assert.equal(desc.meta!.version, 150004);
    const m = decodeLabelMeta(stored(desc), expect);
    const { pgVersion: _v, levels: _l, ...rest } = fields;
    assert.deepEqual(m, rest);
    assert.deepEqual(decodeLabelEntry(stored(desc)), {
      aid: 12,
      startLsn: '0/5000028',
      stopLsn: '0/5000100',
      timeline: 1,
      startWal: '000000010000000000000005',
      stopTime: '2026-11-22T01:02:09.000Z',
      spaces: [
        { name: 'pg_global', critical: true },
        { name: 'ts1', critical: false },
      ],
      systemId: '7311111111111111111',
      pgVersion: 150004,
    });
  });

  it('decodes a version-less meta (written before metas carried one) as version 1', () => {
    const s = stored({ ...desc, meta: oldMeta() });
    assert.equal(s.meta.metaVersion, undefined);
    const m = decodeLabelMeta(s, expect);
    assert.equal(m.checksums, undefined);
    assert.equal(m.stopLsn, '0/5000100');
    assert.equal(decodeLabelEntry(s).aid, 12);
  });

  it('refuses a meta of a newer version, saying so', () => {
    for (const decode of [
      () => decodeLabelMeta(stored(desc, { metaVersion: 2 }), expect),
      () => decodeLabelEntry(stored(desc, { metaVersion: 2 })),
    ]) {
      assert.throws(
        decode,
        (e: unknown) =>
          isNewerRecord(e) &&
          isOpenbarError(e, 'FORMAT') &&
          /label save set 7 .*written by a newer openbar \(version 2 .*reads version 1\)/.test(e.message),
      );
    }
  });

  it('refuses a save set that is not the label it should be, naming the save set and why', () => {
    const is = /^save set 7 is not the backup label of backup 12: /;
    const bad = (meta: Record<string, unknown>, why: RegExp, more: Partial<SaveSetInfo> = {}) =>
      refused(() => decodeLabelMeta(stored(desc, meta, more), expect), new RegExp(is.source + why.source));
    bad({}, /it is a save set of kind 'space'/, { kind: 'space' });
    bad({}, /it belongs to server other/, { server: 'other' });
    bad({ aid: 13 }, /it was written by backup 13/);
    bad({ metaVersion: 0 }, /its metaVersion is 0/);
    bad({ metaVersion: '1' }, /its metaVersion is "1"/);
    bad({ startLsn: '5000028' }, /its startLsn is "5000028"/);
    bad({ stopLsn: undefined }, /its stopLsn is missing/);
    bad({ timeline: 0 }, /its timeline is 0/);
    bad({ startWal: 'x' }, /its startWal is "x"/);
    bad({ startTime: 'yesterday' }, /its startTime is not a time/);
    bad({ nextXid: 745 }, /its nextXid is 745/);
    bad({ walFiles: [] }, /its walFiles are not WAL file names/);
    bad({ walFiles: ['../x'] }, /its walFiles are not WAL file names/);
    bad({ walSegmentSize: 3 << 20 }, /its walSegmentSize 3145728 is not a power of two/);
    bad({ walSegmentSize: 1024 }, /its walSegmentSize is 1024/);
    bad({ systemId: 'abc' }, /its systemId is "abc"/);
    bad({ spaces: 'pg_global' }, /it lists no spaces/);
    bad({ spaces: [{ name: 'a/b', critical: true, oid: null }] }, /space 0 has no valid name/);
    bad({ spaces: [{ name: 'pg_global', oid: null }] }, /space pg_global says nothing of being critical/);
    bad({ spaces: [{ name: 'ts1', critical: false, oid: -1, location: '/srv' }] }, /space ts1 has oid -1/);
    bad({ spaces: [{ name: 'ts1', critical: false, oid: 16385, location: 'srv' }] }, /space ts1 has location "srv"/);
    bad({ spaces: [{ name: 'ts1', critical: false, oid: 16385, location: null }] }, /tablespace ts1 has no location/);
    bad({ checksums: 'yes' }, /its checksums is "yes"/);
  });

  it('refuses, for the history, a label that does not describe a backup, naming the save set and the field', () => {
    const bad = (meta: Record<string, unknown>, why: RegExp) =>
      refused(() => decodeLabelEntry(stored(desc, meta)), new RegExp(`^label save set 7 of main: ${why.source}`));
    bad({ aid: '12' }, /its aid is "12"/);
    bad({ startLsn: null }, /its startLsn is null/);
    bad({ timeline: 1.5 }, /its timeline is 1.5/);
    bad({ startWal: '' }, /its startWal is ""/);
    bad({ stopTime: 'soon' }, /its stopTime is not a time/);
    bad({ spaces: [{ name: 'pg_global' }] }, /space 0: its critical is missing/);
    bad({ spaces: [7] }, /space 0: it is 7, not an object/);
    bad({ version: 'fifteen' }, /its version is "fifteen"/);
    refused(
      () => decodeLabelEntry(stored(desc, {}, { kind: 'wal' })),
      /label save set 7 of main: it is a save set of kind 'wal'/,
    );
  });
});

describe('label record: content', () => {
  const labelFiles = [
    { name: 'backup_label', content: 'START WAL LOCATION: 0/5000028\n' },
    { name: 'tablespace_map', content: '16385 /srv/ts1\n' },
  ];

  it('round-trips the label files and the file list, with its version', () => {
    const list = Buffer.from([1, 0, 255]);
    const bytes = encodeLabelContent({ labelFiles, fileList: list });
    assert.equal(JSON.parse(bytes.toString('utf8')).contentVersion, 1);
    const c = decodeLabelContent(bytes, 9);
    assert.deepEqual(c.labelFiles, labelFiles);
    assert.deepEqual(c.fileList, list);
    assert.equal(decodeLabelContent(encodeLabelContent({ labelFiles })).fileList, undefined);
  });

  it('decodes the content of older labels: no version, no file list', () => {
    const c = decodeLabelContent(Buffer.from(JSON.stringify({ labelFiles }), 'utf8'), 9);
    assert.deepEqual(c, { labelFiles });
  });

  it("refuses what is not a label's content, naming the save set and the field", () => {
    const bad = (json: unknown, why: RegExp) =>
      refused(() => decodeLabelContent(Buffer.from(JSON.stringify(json), 'utf8'), 9), why);
    refused(() => decodeLabelContent(Buffer.from('{', 'utf8'), 9), /^backup label save set 9 is not JSON$/);
    bad([], /^backup label save set 9: it is \[\], not an object/);
    bad({}, /^backup label save set 9: its labelFiles is missing/);
    bad({ labelFiles: [{ name: 'backup_label' }] }, /^backup label save set 9: label file 0: its content is missing/);
    bad({ labelFiles: [{ name: '', content: '' }] }, /^backup label save set 9: label file 0: its name is ""/);
    bad({ labelFiles, fileList: 'not base64!' }, /not base64.*backup label save set 9/);
    bad({ contentVersion: -1, labelFiles }, /its contentVersion is -1/);
  });

  it('refuses a content of a newer version, saying so', () => {
    assert.throws(
      () => decodeLabelContent(Buffer.from(JSON.stringify({ contentVersion: 2, labelFiles: 'anything' }), 'utf8'), 9),
      (e: unknown) =>
        isNewerRecord(e) && /backup label save set 9 was written by a newer openbar/.test((e as Error).message),
    );
  });
});
