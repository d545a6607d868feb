// Reads a whole volume and says what it holds: its label, every save-set part, the
// commits, tombstones and close mark, where it was last consistent, and any damage or
// torn tail. Used by `sm scan` (report) and by the catalog rebuild.

import fsp from 'node:fs/promises';
import { isStop, RecordCursor, type CursorStop } from './record-cursor.js';
import {
  decodeControlPayload,
  decodeLabel,
  LABEL_SIZE,
  RecordKind,
  type BeginPayload,
  type CommitPayload,
  type ContinuePayload,
  type DeletePayload,
  type EndPayload,
  type VolumeLabel,
} from './volume-format.js';

export interface PartSeen {
  readonly id: number;
  readonly part: number;
  readonly offset: number;
  /** offset just past the last record of this set in this volume */
  end: number;
  firstSeq: number;
  begin?: BeginPayload;
  endRecord?: EndPayload;
}

export interface VolumeScan {
  readonly file: string;
  readonly fileSize: number;
  readonly label: VolumeLabel | undefined;
  readonly labelError: string | undefined;
  records: number;
  /** offset after the last COMMIT, DELETE-committing COMMIT or CLOSE: what a catalog would call committed */
  committedEnd: number;
  /** offset after the last readable record */
  goodEnd: number;
  closed: boolean;
  readonly parts: Map<number, PartSeen>;
  readonly commits: CommitPayload[];
  readonly deletes: (DeletePayload & { txn: number })[];
  /** the highest transaction and save-set ids of any whole record (its high-water marks) */
  maxTxn: number;
  maxSaveSet: number;
  /** payloads that failed their checksum (the walk went on past them) */
  readonly badRecords: { offset: number; savesetId: number; error: string }[];
  stop: CursorStop | undefined;
}

export async function scanVolume(file: string, opts: { verifyPayloads: boolean }): Promise<VolumeScan> {
  const fh = await fsp.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const block = Buffer.alloc(LABEL_SIZE);
    const { bytesRead } = await fh.read(block, 0, LABEL_SIZE, 0);
    const decoded = decodeLabel(block.subarray(0, bytesRead));
    const scan: VolumeScan = {
      file,
      fileSize: size,
      label: 'error' in decoded ? undefined : decoded,
      labelError: 'error' in decoded ? decoded.error : undefined,
      records: 0,
      committedEnd: LABEL_SIZE,
      goodEnd: LABEL_SIZE,
      closed: false,
      parts: new Map(),
      commits: [],
      deletes: [],
      maxTxn: 0,
      maxSaveSet: 0,
      badRecords: [],
      stop: undefined,
    };
    if (!scan.label) return scan;
    const cursor = new RecordCursor(fh, LABEL_SIZE, size, { skipDataPayloads: !opts.verifyPayloads });
    for (;;) {
      const r = await cursor.next();
      if (r === null) break;
      if (isStop(r)) {
        scan.stop = r;
        break;
      }
      scan.records++;
      scan.goodEnd = r.offset + r.size;
      const h = r.header;
      scan.maxTxn = Math.max(scan.maxTxn, h.txn);
      scan.maxSaveSet = Math.max(scan.maxSaveSet, h.savesetId);
      if (!r.checksumOk) {
        scan.badRecords.push({ offset: r.offset, savesetId: h.savesetId, error: 'record checksum mismatch' });
        if (h.kind !== RecordKind.data) continue;
      }
      const part = scan.parts.get(h.savesetId);
      if (part) part.end = r.offset + r.size;
      switch (h.kind) {
        case RecordKind.begin: {
          const begin = decodeControlPayload<BeginPayload>(r.payload!);
          scan.parts.set(h.savesetId, {
            id: h.savesetId,
            part: 0,
            offset: r.offset,
            end: r.offset + r.size,
            firstSeq: 0,
            begin,
          });
          break;
        }
        case RecordKind.continue: {
          const c = decodeControlPayload<ContinuePayload>(r.payload!);
          scan.parts.set(h.savesetId, {
            id: h.savesetId,
            part: c.part,
            offset: r.offset,
            end: r.offset + r.size,
            firstSeq: c.fromSeq,
          });
          break;
        }
        case RecordKind.end:
          if (part) part.endRecord = decodeControlPayload<EndPayload>(r.payload!);
          break;
        case RecordKind.commit:
          scan.commits.push(decodeControlPayload<CommitPayload>(r.payload!));
          scan.committedEnd = r.offset + r.size;
          break;
        case RecordKind.delete:
          scan.deletes.push({ ...decodeControlPayload<DeletePayload>(r.payload!), txn: h.txn });
          break;
        case RecordKind.close:
          scan.closed = true;
          scan.committedEnd = r.offset + r.size;
          break;
        default:
          break;
      }
    }
    return scan;
  } finally {
    await fh.close();
  }
}
