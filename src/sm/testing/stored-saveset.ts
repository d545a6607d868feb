// Save sets as a storage manager hands them out, for the tests of the records kept in them
// (bar/records, the bootstrap, sync): what a query returns, with the fields no record reads
// left empty. Used by tests only.

import type { ObjectDescriptor, SaveSetInfo } from '../storage-manager.js';

/** A save set with `fields`; what they leave out is empty (no bytes, no volumes, not compressed). */
export function saveSetInfo(
  fields: Pick<SaveSetInfo, 'id' | 'pool' | 'server' | 'name' | 'kind'> & Partial<SaveSetInfo>,
): SaveSetInfo {
  return {
    level: null,
    meta: {},
    created: '',
    committed: '',
    rawBytes: 0,
    storedBytes: 0,
    records: 0,
    hash: '',
    compression: 'none',
    volumes: [],
    ...fields,
  };
}

/** The save set stored as save set `id` for `d`: its meta through JSON, as stored, `meta` fields replaced, and `more` on top. */
export function storedSaveSet(
  id: number,
  d: ObjectDescriptor,
  meta: Record<string, unknown> = {},
  more: Partial<SaveSetInfo> = {},
): SaveSetInfo {
  return saveSetInfo({
    id,
    pool: d.pool,
    server: d.server,
    name: d.name,
    kind: d.kind,
    level: d.level ?? null,
    meta: JSON.parse(JSON.stringify({ ...d.meta, ...meta })) as Record<string, unknown>,
    ...more,
  });
}
