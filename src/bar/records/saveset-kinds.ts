// The kinds of save set openbar stores, the one place their names are spelled: what a
// query asks for and what a writer records (the storage manager keeps them as opaque
// labels). A name here is part of the stored format: renaming one makes every save set
// of the old name invisible to this openbar.

import { fail } from '../../common/errors.js';
import { META_VERSION_FIELD, metaReader, type FieldReader } from '../../common/meta-reader.js';
import { BOOTSTRAP_KIND, type ObjectDescriptor, type SaveSetInfo } from '../../sm/storage-manager.js';

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

/**
 * A reader of the meta of save set `info`, which backup `expect.aid` of `expect.server`
 * recorded as its `role` (the history names it): refused (FORMAT, "save set N is not the
 * ROLE of backup A: why") when its kind, meta version, server or backup is not that; `bad`
 * refuses the same way for the reader's own checks.
 */
export function backupRecordReader(
  info: SaveSetInfo,
  r: { readonly kind: SaveSetKind; readonly version: number; readonly role: string; readonly what: string },
  expect: { readonly server: string; readonly aid: number },
): { fields: FieldReader; bad: (why: string) => never } {
  const bad = (why: string): never =>
    fail(
      'FORMAT',
      `save set ${info.id} is not the ${r.role} of backup ${expect.aid}: ${why}`,
      'the catalog does not match the history (a catalog put back from a copy?): run `openbar sm scan` and `openbar sync`',
    );
  const fields = metaReader(info, r.kind, r.version, `${r.what} save set ${info.id} of backup ${expect.aid}`, bad);
  if (info.server !== expect.server) bad(`it belongs to server ${info.server}`);
  if (fields.fields.aid !== expect.aid) bad(`it was written by backup ${shownAid(fields.fields.aid)}`);
  return { fields, bad };
}

const shownAid = (v: unknown): string => (typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? 'none'));
