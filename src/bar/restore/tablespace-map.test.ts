import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenbarError } from '../../common/errors.js';
import type { RecordedSpace } from '../../engine/engine.js';
import { tablespaceMapping } from './tablespace-map.js';

const spaces: RecordedSpace[] = [
  { name: 'pg_global', critical: true, oid: null, location: null },
  { name: 'pg_default', critical: false, oid: null, location: null },
  { name: 'ts1', critical: false, oid: 16390, location: '/srv/ts1' },
  { name: 'ts2', critical: false, oid: 16391, location: '/srv/ts2' },
];
const mapping = (m: Record<string, string>) => tablespaceMapping(spaces, new Map(Object.entries(m)));
const byName = (f: ReturnType<typeof mapping>) => Object.fromEntries(spaces.map((s) => [s.name, f(s) ?? null]));

describe('--map-tablespace OLD=NEW', () => {
  it('names a tablespace by its name, its oid or its old location (pg_basebackup -T)', () => {
    assert.deepEqual(byName(mapping({ ts1: '/a' })), { pg_global: null, pg_default: null, ts1: '/a', ts2: null });
    assert.deepEqual(byName(mapping({ '16391': '/b' })), { pg_global: null, pg_default: null, ts1: null, ts2: '/b' });
    assert.deepEqual(byName(mapping({ '/srv/ts1/': '/a', '/srv/../srv/ts2': '/b' })), {
      pg_global: null,
      pg_default: null,
      ts1: '/a',
      ts2: '/b',
    });
  });

  it('refuses an OLD that names no tablespace of the backup, listing those it has', () => {
    for (const old of ['ts9', '/srv/ts9', 'pg_default', '999'])
      assert.throws(
        () => mapping({ [old]: '/x' }),
        (e: unknown) =>
          isOpenbarError(e, 'USAGE') &&
          /has no tablespace/.test(e.message) &&
          /ts1 \(oid 16390, \/srv\/ts1\)/.test(e.hint!),
        old,
      );
  });

  it('refuses two entries that send one tablespace to two places', () => {
    assert.throws(() => mapping({ ts1: '/a', '/srv/ts1': '/b' }), /ts1 and \/srv\/ts1 both name tablespace ts1/);
    assert.equal(mapping({ ts1: '/a', '16390': '/a' })(spaces[2]!), '/a');
  });
});
