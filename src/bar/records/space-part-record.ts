// One part of one space's copy at one level: the one module that writes and reads the
// save set's descriptor. `sync --from-storage` rebuilds a backup's spaces, their parts
// and their bases from these metas alone, so each field is checked before it is believed.
//
// Meta version 1 (version-less metas, written before the field existed, are version 1):
//   metaVersion, aid, part, parts, critical, oid, location, startLsn, timeline,
//   and at level 1 and 2: baseCopyId, baseLsn, method ('wal' | 'scan' | null)
// Only aid, part and parts are required: the rest is checked where it is present.

import { metaReader } from '../../common/meta-reader.js';
import type { ObjectDescriptor, SaveSetInfo } from '../../sm/storage-manager.js';
import { recordDescriptor, SaveSetKind } from './saveset-kinds.js';

export const SPACE_PART_META_VERSION = 1;

/** What a backup stream writes in its part's meta. */
export interface SpacePartFields {
  readonly aid: number;
  readonly part: number;
  readonly parts: number;
  readonly critical: boolean;
  readonly oid: number | null;
  readonly location: string | null;
  readonly startLsn: string;
  readonly timeline: number;
  /** levels 1 and 2: the first save set of the instance the space builds on, the LSN it started at, how pages were found */
  readonly incremental?: {
    readonly baseCopyId: number | null;
    readonly baseLsn: string | null;
    readonly method: 'wal' | 'scan' | null;
  };
}

/** A space part's meta as it is read back. */
export interface SpacePartMeta {
  readonly aid: number;
  readonly part: number;
  readonly parts: number;
  readonly critical?: boolean;
  readonly oid?: number | null;
  readonly location?: string | null;
  readonly startLsn?: string;
  readonly timeline?: number;
  /** the first save set of the base level; null at level 0 */
  readonly baseCopyId: number | null;
  readonly baseLsn?: string | null;
  readonly method?: 'wal' | 'scan' | null;
}

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const METHODS = ['wal', 'scan'] as const;

/** The descriptor of the save set of part `m.part` of space `space` of backup `m.aid`, at `level`. */
export function encodeSpacePart(
  at: { readonly pool: string; readonly server: string; readonly space: string; readonly level: number },
  m: SpacePartFields,
): ObjectDescriptor {
  return recordDescriptor(
    at,
    { name: at.space, kind: SaveSetKind.space, level: at.level, version: SPACE_PART_META_VERSION },
    {
      aid: m.aid,
      part: m.part,
      parts: m.parts,
      critical: m.critical,
      oid: m.oid,
      location: m.location,
      startLsn: m.startLsn,
      timeline: m.timeline,
      ...(m.incremental
        ? { baseCopyId: m.incremental.baseCopyId, baseLsn: m.incremental.baseLsn, method: m.incremental.method }
        : {}),
    },
  );
}

/** The meta of space save set `info`; fails (FORMAT) naming the save set and the field. */
export function decodeSpacePart(info: SaveSetInfo): SpacePartMeta {
  const r = metaReader(info, SaveSetKind.space, SPACE_PART_META_VERSION, `space save set ${info.id} (${info.name})`);
  const parts = r.int('parts', 1);
  const part = r.int('part', 0, parts - 1);
  return {
    aid: r.int('aid', 1),
    part,
    parts,
    baseCopyId: r.optNullable('baseCopyId', (k) => r.int(k, 1)) ?? null,
    critical: r.optBool('critical'),
    oid: r.optNullable('oid', (k) => r.int(k, 1)),
    location: r.optNullable('location', (k) => r.text(k, /^\//)),
    startLsn: r.optText('startLsn', LSN),
    timeline: r.optInt('timeline', 1),
    baseLsn: r.optNullable('baseLsn', (k) => r.text(k, LSN)),
    method: r.optNullable('method', (k) => r.oneOf(k, METHODS)),
  };
}
