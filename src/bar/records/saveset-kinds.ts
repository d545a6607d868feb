// The kinds of save set openbar stores, the one place their names are spelled: what a
// query asks for and what a writer records (the storage manager keeps them as opaque
// labels). A name here is part of the stored format: renaming one makes every save set
// of the old name invisible to this openbar.

import { BOOTSTRAP_KIND } from '../../sm/storage-manager.js';

export const SaveSetKind = Object.freeze({
  /** a backup's label: its meta describes the backup, its content holds PostgreSQL's label files (records/label-record.ts) */
  label: 'label',
  /** one part of one space's copy at one level (records/space-part-record.ts) */
  space: 'space',
  /** one WAL file: a segment, a timeline history, a backup history, a partial segment (records/wal-record.ts) */
  wal: 'wal',
  /** the summary of one WAL file's block references (records/wal-summary-record.ts) */
  walSummary: 'walsum',
  /** the storage manager's copy of its catalog (sm/local/bootstrap-meta.ts) */
  bootstrap: BOOTSTRAP_KIND,
  /** a file stored by `openbar sm store`, the default kind there */
  file: 'file',
} as const);

export type SaveSetKind = (typeof SaveSetKind)[keyof typeof SaveSetKind];
