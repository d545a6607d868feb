import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
import { storedSaveSet } from '../../sm/testing/stored-saveset.js';
import { decodeConfig, decodeConfigContent, encodeConfig, encodeConfigContent } from './config-record.js';

const stored = storedSaveSet.bind(undefined, 9);
const desc = encodeConfig(
  { pool: 'Data', server: 'main' },
  { aid: 12, dataDir: '/var/lib/postgresql/15/main', files: 2 },
);
const entries = [
  {
    role: 'main' as const,
    path: '/etc/postgresql/15/main/postgresql.conf',
    type: 'file' as const,
    mode: 0o644,
    content: Buffer.from('port = 5432\n'),
  },
  { role: 'include' as const, path: '/etc/postgresql/15/main/conf.d', type: 'dir' as const, mode: 0o755 },
  {
    role: 'include' as const,
    path: '/etc/postgresql/15/main/conf.d/empty.conf',
    type: 'file' as const,
    mode: 0o644,
    content: Buffer.alloc(0),
  },
];
const json = (e: unknown[]) => Buffer.from(JSON.stringify({ contentVersion: 1, entries: e }));
const refused = (content: Buffer, why: RegExp) =>
  assert.throws(
    () => decodeConfigContent(content, 9),
    (e: unknown) => isOpenbarError(e, 'FORMAT') && why.test(e.message),
  );

describe('configuration record', () => {
  it('round-trips its meta and its files and directories, empty files included', () => {
    assert.deepEqual([desc.kind, desc.name, desc.meta!.metaVersion], ['config', 'config_files', 1]);
    assert.deepEqual(decodeConfig(stored(desc)), { aid: 12, dataDir: '/var/lib/postgresql/15/main', files: 2 });
    assert.deepEqual(decodeConfigContent(encodeConfigContent(entries), 9), entries);
  });

  it('refuses paths that are not absolute and normalised, content not matching its hash, a newer version', () => {
    const [e] = JSON.parse(encodeConfigContent(entries.slice(0, 1)).toString()).entries;
    refused(json([{ ...e, path: 'postgresql.conf' }]), /^configuration save set 9: entry 0: its path/);
    refused(json([{ ...e, path: '/etc/../root/x' }]), /its path/);
    refused(json([{ ...e, content: Buffer.from('port = 1\n').toString('base64') }]), /does not match its hash/);
    refused(json([{ ...e, role: 'other' }]), /its role/);
    refused(Buffer.from(JSON.stringify({ contentVersion: 2, entries: [] })), /newer openbar/);
    assert.throws(() => decodeConfig(stored(desc, { dataDir: 'relative' })), /dataDir/);
  });
});
