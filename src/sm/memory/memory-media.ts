// What an in-memory storage manager holds: its pools, and per save set its catalog row,
// its records and its END. The in-memory counterpart of volumes and a catalog, kept
// apart from the storage manager so that one can be opened again over the same media
// (a restart) and a fault test can damage what is stored, as volume surgery does on files.
// Records are stored raw (nothing is compressed); each carries the CRC-32C of its
// bytes as a volume record header does, so damage is found on reading.

import { randomUUID } from 'node:crypto';
import { crc32c } from '../../common/io/crc32c.js';
import type { Compression } from '../storage-manager.js';

/** One DATA record: its sequence number (from 1), its bytes, and their CRC-32C as written. */
export interface MemoryRecord {
  readonly seq: number;
  readonly bytes: Buffer;
  readonly crc: number;
}

/** The END record of a save set: its totals and whole-set hash, as the writer closed it. */
export interface MemoryEnd {
  readonly records: number;
  readonly rawBytes: number;
  readonly hash: string;
}

export interface MemorySaveSet {
  readonly id: number;
  readonly txn: number;
  state: 'writing' | 'committed';
  readonly pool: string;
  readonly server: string;
  readonly name: string;
  readonly kind: string;
  readonly level: number | null;
  /** the descriptor's meta as JSON text, as a catalog row keeps it */
  readonly meta: string;
  readonly created: string;
  committed: string | null;
  readonly compression: Compression;
  readonly records: MemoryRecord[];
  end: MemoryEnd | undefined;
}

export class MemoryMedia {
  /** the storage manager's identity (a local one's is in its catalog and every volume label) */
  readonly smId = randomUUID();
  readonly pools: Set<string>;
  readonly sets = new Map<number, MemorySaveSet>();
  /** ids of deleted save sets: they stay gone */
  readonly deleted = new Set<number>();
  private lastSet = 0;
  private lastTxn = 0;

  constructor(pools: readonly string[]) {
    this.pools = new Set(pools);
  }

  /** Save-set and transaction ids only grow: none is ever handed out twice. */
  nextSetId(): number {
    return ++this.lastSet;
  }
  nextTxnId(): number {
    return ++this.lastTxn;
  }

  static record(seq: number, bytes: Buffer): MemoryRecord {
    return { seq, bytes, crc: crc32c(bytes) };
  }
}
