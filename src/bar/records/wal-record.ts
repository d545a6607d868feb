// A WAL file's save set in the Logs pool: the one module that writes and reads its
// descriptor. `log archive` compares content hashes through it (the same file twice is
// fine, another under the same name is not), status reads the segment size from it, and
// `sync --from-storage` the action that stored it: each field is checked before it is believed.
//
// Meta version 1 (version-less metas, written before the field existed, are version 1):
//   metaVersion, walKind ('segment' | 'history' | 'backup' | 'partial'), size, contentHash
//   (hex BLAKE3 of the content), aid, timeline, and when the gate found them: systemId,
//   validBytes (salvage: the WAL ends there, zeros follow).
// The oldest metas have walKind and size only (then sha256, then contentHash, then aid):
// only walKind and size are required.

import { metaReader } from '../../common/meta-reader.js';
import type { ObjectDescriptor, SaveSetInfo } from '../../sm/storage-manager.js';
import { recordDescriptor, SaveSetKind } from './saveset-kinds.js';

export const WAL_META_VERSION = 1;

export const WAL_FILE_KINDS = ['segment', 'history', 'backup', 'partial'] as const;
export type WalFileKind = (typeof WAL_FILE_KINDS)[number];

/** What `log archive` writes in a WAL file's meta. */
export interface WalFields {
  readonly walKind: WalFileKind;
  readonly size: number;
  readonly contentHash: string;
  readonly aid: number;
  readonly timeline: number;
  readonly systemId?: string | undefined;
  readonly validBytes?: number | undefined;
}

/** A WAL file's meta as it is read back. */
export interface WalMeta {
  readonly walKind: WalFileKind;
  readonly size: number;
  /** undefined in the oldest metas: such a file matches no content */
  readonly contentHash?: string | undefined;
  readonly aid?: number | undefined;
  readonly timeline?: number | undefined;
  readonly systemId?: string | undefined;
  readonly validBytes?: number | undefined;
}

const HASH = /^[0-9a-f]{64}$/;

/** The descriptor of WAL file `name`'s save set. */
export function encodeWal(
  at: { readonly pool: string; readonly server: string; readonly name: string },
  m: WalFields,
): ObjectDescriptor {
  return recordDescriptor(
    at,
    { name: at.name, kind: SaveSetKind.wal, version: WAL_META_VERSION },
    {
      walKind: m.walKind,
      size: m.size,
      contentHash: m.contentHash,
      aid: m.aid,
      timeline: m.timeline,
      ...(m.systemId !== undefined ? { systemId: m.systemId } : {}),
      ...(m.validBytes !== undefined ? { validBytes: m.validBytes } : {}),
    },
  );
}

/** The meta of WAL save set `info`; fails (FORMAT) naming the save set and the field. */
export function decodeWal(info: SaveSetInfo): WalMeta {
  const r = metaReader(info, SaveSetKind.wal, WAL_META_VERSION, `WAL save set ${info.id} (${info.name})`);
  const size = r.int('size', 0);
  return {
    walKind: r.oneOf('walKind', WAL_FILE_KINDS),
    size,
    contentHash: r.optText('contentHash', HASH),
    aid: r.optInt('aid', 1),
    timeline: r.optInt('timeline', 0, 0xffffffff),
    systemId: r.optText('systemId', /^\d+$/),
    validBytes: r.optInt('validBytes', 0, size),
  };
}
