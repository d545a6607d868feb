import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
import { storedSaveSet } from '../../sm/testing/stored-saveset.js';
import {
  decodeConfig,
  decodeConfigContent,
  encodeConfig,
  encodeConfigContent,
  MAX_CONFIG_BYTES,
} from './config-record.js';

const stored = storedSaveSet.bind(undefined, 9);
const expect = { server: 'main', aid: 12 };
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
    assert.equal(desc.meta!.dataDir, '/var/lib/postgresql/15/main'); // written, as version 1 has it
    assert.deepEqual(decodeConfig(stored(desc), expect), { aid: 12, files: 2 });
    assert.deepEqual(decodeConfigContent(encodeConfigContent(entries), 9, 3), entries);
  });

  it('refuses paths that are not absolute and normalised, content not matching its hash, a newer version', () => {
    const [e] = JSON.parse(encodeConfigContent(entries.slice(0, 1)).toString()).entries;
    refused(json([{ ...e, path: 'postgresql.conf' }]), /^configuration save set 9: entry 0: its path/);
    refused(json([{ ...e, path: '/etc/../root/x' }]), /its path/);
    refused(json([{ ...e, content: Buffer.from('port = 1\n').toString('base64') }]), /does not match its hash/);
    refused(json([{ ...e, role: 'other' }]), /its role/);
    refused(Buffer.from(JSON.stringify({ contentVersion: 2, entries: [] })), /newer openbar/);
  });

  it('refuses a path that is /, ends in /, or holds a NUL', () => {
    const [e] = JSON.parse(encodeConfigContent(entries.slice(0, 1)).toString()).entries;
    for (const p of ['/', '/etc/postgresql/', '/etc/x\0/postgresql.conf', '//etc/x', '/etc/./x'])
      refused(json([{ ...e, path: p }]), /its path/);
  });

  it('refuses a path twice, two main, hba or ident files, a file below a file, and a count its meta does not say', () => {
    const [main, confd, empty] = JSON.parse(encodeConfigContent(entries).toString()).entries;
    refused(json([main, confd, empty, empty]), /holds \/etc\/postgresql\/15\/main\/conf\.d\/empty\.conf twice/);
    refused(json([main, { ...empty, role: 'main' }]), /more than one main file/);
    refused(
      json([
        { ...empty, role: 'hba' },
        { ...main, role: 'hba' },
      ]),
      /more than one hba file/,
    );
    refused(
      json([
        { ...empty, role: 'ident' },
        { ...main, role: 'ident' },
      ]),
      /more than one ident file/,
    );
    refused(json([{ ...confd, role: 'main' }]), /main file .* is a directory/);
    refused(json([main, { ...empty, path: `${main.path}/x.conf` }]), /lies below the file/);
    assert.throws(
      () => decodeConfigContent(json([main, confd, empty]), 9, 2),
      (e: unknown) => isOpenbarError(e, 'FORMAT') && /holds 3 entries where its meta says 2/.test(e.message),
    );
  });

  it("refuses a meta that is not this backup's configuration, or too large to read", () => {
    const not = (info: ReturnType<typeof stored>, why: RegExp) =>
      assert.throws(
        () => decodeConfig(info, expect),
        (e: unknown) =>
          isOpenbarError(e, 'FORMAT') &&
          /^save set 9 is not the configuration of backup 12/.test(e.message) &&
          why.test(e.message),
      );
    not(stored(desc, { aid: 13 }), /written by backup 13/);
    not(
      storedSaveSet(9, encodeConfig({ pool: 'Data', server: 'other' }, { aid: 12, dataDir: '/d', files: 1 })),
      /server other/,
    );
    not(stored({ ...desc, kind: 'label' }), /kind 'label'/);
    not(stored(desc, { files: -1 }), /files/);
    not(stored(desc, {}, { rawBytes: MAX_CONFIG_BYTES + 1 }), /more than the 16777216/);
    assert.deepEqual(decodeConfig(stored(desc, {}, { rawBytes: MAX_CONFIG_BYTES }), expect), { aid: 12, files: 2 });
  });
});
