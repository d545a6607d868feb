// The bootstrap save set's descriptor: the storage manager's own record (the client's
// records live in bar/records/), the one module that writes and reads its kind, name and
// meta. What it decodes comes from a volume, read with no catalog at all (a lost home),
// and is checked before the save set is taken for the catalog it says it is.
//
// Meta version 1: { metaVersion: 1, smId, pools: the catalog's pool rows } (version-less
// metas, written before the field existed, are version 1).

import { FieldReader, META_VERSION_FIELD, metaReader, type StoredMeta } from '../../common/meta-reader.js';
import type { PoolRow } from './catalog.js';
import type { ObjectDescriptor } from '../storage-manager.js';

export { BOOTSTRAP_KIND } from '../storage-manager.js';
import { BOOTSTRAP_KIND } from '../storage-manager.js';
/** the server and object name the bootstrap is stored under: the storage manager's own, no database server's */
export const BOOTSTRAP_SERVER = 'openbar-sm';
export const BOOTSTRAP_NAME = 'catalog';
export const BOOTSTRAP_META_VERSION = 1;

export interface BootstrapMeta {
  readonly smId: string;
  /** the pools as the catalog held them (names checked; the recovered catalog's own rows are used) */
  readonly pools: readonly { readonly name: string }[];
}

/** The descriptor of the bootstrap save set of storage manager `smId`, in `pool`. */
export function encodeBootstrap(
  pool: string,
  m: { readonly smId: string; readonly pools: readonly PoolRow[] },
): ObjectDescriptor {
  return {
    pool,
    server: BOOTSTRAP_SERVER,
    name: BOOTSTRAP_NAME,
    kind: BOOTSTRAP_KIND,
    level: null,
    meta: { [META_VERSION_FIELD]: BOOTSTRAP_META_VERSION, smId: m.smId, pools: m.pools },
  };
}

/** The meta of bootstrap save set `s`, of storage manager `smId`; fails (FORMAT) naming what is wrong. */
export function decodeBootstrap(s: StoredMeta & { readonly server: string }, smId: string): BootstrapMeta {
  const what = `bootstrap save set ${s.id}`;
  const r = metaReader(s, BOOTSTRAP_KIND, BOOTSTRAP_META_VERSION, what);
  if (s.server !== BOOTSTRAP_SERVER || s.name !== BOOTSTRAP_NAME)
    r.bad(`it is stored as ${s.name} of server ${s.server}, not as the storage manager's ${BOOTSTRAP_NAME}`);
  const id = r.text('smId');
  if (id !== smId) r.bad(`it belongs to storage manager ${id}, not ${smId}`);
  const pools = r.list('pools', (p, i) => ({
    name: new FieldReader(p, (why) => r.bad(`pool ${i}: ${why}`)).text('name'),
  }));
  return { smId: id, pools };
}
