// The storage manager's interface, after XBSA: a client begins a transaction,
// creates objects (save sets) and streams data into them, then commits or aborts.
// Only committed save sets are ever visible. The storage manager knows nothing of
// databases: `server`, `name`, `kind`, `level` and `meta` are opaque labels to it.

import type { Readable } from 'node:stream';
import { checkName } from '../common/names.js';

export type Compression = 'none' | 'lz4' | 'zstd';

/** The kind of the storage manager's own save set: a copy of its catalog (the ISM server bootstrap). */
export const BOOTSTRAP_KIND = 'bootstrap';

/** The names of a descriptor that come from outside (object, server, kind), checked: none can escape a directory. */
export function checkDescriptorNames(desc: ObjectDescriptor): void {
  checkName('object', desc.name);
  checkName('server', desc.server);
  checkName('kind', desc.kind);
}

export interface ObjectDescriptor {
  readonly pool: string;
  readonly server: string;
  readonly name: string;
  /** what the object is, for queries: 'file', 'space', 'wal', 'bootstrap', … */
  readonly kind: string;
  readonly level?: number | null;
  /** client data stored with the save set and returned by queries (LSNs, base ids, …) */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** overrides the pool's / configured compression for this object */
  readonly compression?: Compression;
}

export interface SaveSetInfo {
  readonly id: number;
  readonly pool: string;
  readonly server: string;
  readonly name: string;
  readonly kind: string;
  readonly level: number | null;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly created: string;
  readonly committed: string;
  readonly rawBytes: number;
  readonly storedBytes: number;
  readonly records: number;
  /** BLAKE3 over the BLAKE3 digests of the set's records, in order */
  readonly hash: string;
  readonly compression: Compression;
  /** volumes holding the save set, in order */
  readonly volumes: readonly string[];
}

export interface ObjectQuery {
  readonly id?: number;
  readonly server?: string;
  readonly name?: string;
  readonly kind?: string;
  readonly level?: number;
  readonly pool?: string;
  /** committed at or after / before these ISO times */
  readonly after?: string;
  readonly before?: string;
}

export interface ObjectWriter {
  readonly id: number;
  /** Appends bytes; resolves when the writer can take more (backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Lets `fill` write straight into the writer's transfer buffer (no copy): it gets the
   * free part of the buffer and returns how many bytes it put there (0 at its end).
   */
  pour(fill: (space: Buffer) => Promise<number>): Promise<number>;
  /**
   * Like pour, for fills that take a while (reads): `fill` says at once how many bytes it
   * will put in the free part of the buffer and returns the promise of their arrival. The
   * writer moves on without waiting, so the caller can start the next fill (several reads
   * in flight); a buffer is sealed once every fill into it has arrived. A fill that fails
   * fails the object. Resolves with the bytes accepted (0: the caller must use pour; a
   * writer that cannot let fills run ahead always answers 0 and never calls `fill`).
   */
  pourAhead(fill: (space: Buffer) => { bytes: number; arrived: Promise<void> }): Promise<number>;
  /**
   * Bytes to write before the next byte lands `block`-aligned in a page-aligned transfer
   * buffer, where a direct (O_DIRECT) read may fill it; undefined when the buffers are not
   * page-aligned memory or `block` does not divide them (a correct answer for any writer).
   */
  gapToAligned(block: number): number | undefined;
  /** Ends the object: every byte is written and its END record is in place. */
  close(): Promise<void>;
  /** A Writable over write/close, for `pipeline(source, …, writer.stream())`. */
  stream(): NodeJS.WritableStream;
  readonly bytesIn: number;
}

export interface Transaction {
  readonly id: number;
  createObject(desc: ObjectDescriptor): Promise<ObjectWriter>;
  /** Makes every object of the transaction durable and visible, atomically. */
  commit(): Promise<SaveSetInfo[]>;
  /** Discards every object of the transaction; nothing of it stays visible. */
  abort(): Promise<void>;
}

export interface ReadOptions {
  readonly signal?: AbortSignal;
  /**
   * Records opened (decompressed, hashed) ahead of the one being read; the storage
   * manager's buffer count when absent. Fewer suits a reader that may stop early.
   */
  readonly readAhead?: number;
}

export interface StorageManager {
  beginTransaction(owner?: string): Promise<Transaction>;
  query(q: ObjectQuery): Promise<SaveSetInfo[]>;
  /** The object's bytes, checked record by record and against its whole-set hash. */
  read(id: number, opts?: ReadOptions): Readable;
  /**
   * The same bytes as `read`, without copies: each chunk lives in a transfer buffer that is
   * reused once the next chunk is asked for, so the consumer must be done with it by then.
   */
  readChunks(id: number, opts?: ReadOptions): AsyncIterable<Buffer>;
  /**
   * Checks what is stored of the object without reading its content: every record's
   * header and stored-bytes checksum, their order and the set's totals (media checks,
   * fast: nothing is decompressed, and the whole-set hash of the content is not checked).
   * Throws on damage as reading does.
   */
  checkStored(id: number, opts?: ReadOptions): Promise<void>;
  /** Removes the objects; they stay gone even if the catalog is rebuilt from volumes. */
  delete(ids: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

/** A small save set's whole content (a label, a WAL summary), checked as `readChunks` checks it. */
export async function readWhole(sm: StorageManager, id: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  // chunks live in reused transfer buffers: each is copied
  for await (const c of sm.readChunks(id)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}
