// The kinds of save set openbar stores, the one place their names are spelled: what a
// query asks for and what a writer records (the storage manager keeps them as opaque
// labels). A name here is part of the stored format: renaming one makes every save set
// of the old name invisible to this openbar.

import { META_VERSION_FIELD } from '../../common/meta-reader.js';
import { BOOTSTRAP_KIND, type ObjectDescriptor } from '../../sm/storage-manager.js';

export const SaveSetKind = Object.freeze({
  /** a backup's label: its meta describes the backup, its content holds PostgreSQL's label files (records/label-record.ts) */
  label: 'label',
  /** one part of one space's copy at one level (records/space-part-record.ts) */
  space: 'space',
  /** one WAL file: a segment, a timeline history, a backup history, a partial segment (records/wal-record.ts) */
  wal: 'wal',
  /** the summary of one WAL file's block references (records/wal-summary-record.ts) */
  walSummary: 'walsum',
  /** a backup's configuration files kept outside its data directory (records/config-record.ts) */
  config: 'config',
  /** the storage manager's copy of its catalog (sm/local/bootstrap-meta.ts) */
  bootstrap: BOOTSTRAP_KIND,
  /** a file stored by `openbar sm store`, the default kind there */
  file: 'file',
} as const);

export type SaveSetKind = (typeof SaveSetKind)[keyof typeof SaveSetKind];

/** What names one record: its save set's name, kind and level, and the version of its meta. */
export interface RecordName {
  readonly name: string;
  readonly kind: SaveSetKind;
  readonly level?: number;
  readonly version: number;
}

/** The descriptor of a record stored in pool `at.pool` for `at.server`: its meta stamped with its version first. */
export function recordDescriptor(
  at: { readonly pool: string; readonly server: string },
  r: RecordName,
  meta: Record<string, unknown>,
): ObjectDescriptor {
  return {
    pool: at.pool,
    server: at.server,
    name: r.name,
    kind: r.kind,
    ...(r.level !== undefined ? { level: r.level } : {}),
    meta: { [META_VERSION_FIELD]: r.version, ...meta },
  };
}
