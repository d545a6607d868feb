// A WAL file's summary in the Logs pool (the engine makes and reads its content): the one
// module that writes and reads the save set's descriptor. A restore to a time reads
// `lastTransactionMs` to know where its route may end, so it is checked before it is believed.
//
// Meta version 1 (version-less metas, written before the field existed, are version 1):
//   metaVersion, aid (when stored by `log archive`, absent when stored later), size
//   (bytes of the summary), lastTransactionMs (when the last transaction ending in the
//   file ended, null for none; absent in summaries stored before openbar recorded it).

import { metaReader } from '../../common/meta-reader.js';
import type { ObjectDescriptor, SaveSetInfo } from '../../sm/storage-manager.js';
import { recordDescriptor, SaveSetKind } from './saveset-kinds.js';

export const WAL_SUMMARY_META_VERSION = 1;

/** What is written in a summary's meta. */
export interface WalSummaryFields {
  readonly aid?: number | undefined;
  readonly size: number;
  readonly lastTransactionMs: number | null;
}

/** A summary's meta as it is read back. */
export interface WalSummaryMeta {
  readonly aid?: number | undefined;
  readonly size: number;
  /** undefined: not recorded (an older openbar); null: no transaction ended in the file */
  readonly lastTransactionMs: number | null | undefined;
}

/** The descriptor of the summary of WAL file `name`. */
export function encodeWalSummary(
  at: { readonly pool: string; readonly server: string; readonly name: string },
  m: WalSummaryFields,
): ObjectDescriptor {
  return recordDescriptor(
    at,
    { name: at.name, kind: SaveSetKind.walSummary, version: WAL_SUMMARY_META_VERSION },
    {
      ...(m.aid !== undefined ? { aid: m.aid } : {}),
      size: m.size,
      lastTransactionMs: m.lastTransactionMs,
    },
  );
}

/** The meta of summary save set `info`; fails (FORMAT) naming the save set and the field. */
export function decodeWalSummary(info: SaveSetInfo): WalSummaryMeta {
  const r = metaReader(
    info,
    SaveSetKind.walSummary,
    WAL_SUMMARY_META_VERSION,
    `WAL summary save set ${info.id} (${info.name})`,
  );
  const t = r.fields.lastTransactionMs;
  const lastTransactionMs =
    t === null || t === undefined
      ? t
      : typeof t === 'number' && Number.isFinite(t)
        ? t
        : r.wrong('lastTransactionMs', 'a time in ms, or null');
  return { aid: r.optInt('aid', 1), size: r.int('size', 0), lastTransactionMs };
}
