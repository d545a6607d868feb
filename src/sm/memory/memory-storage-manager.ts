// A StorageManager kept in memory: the same contract as the local one (atomic
// transactions, nothing visible before commit or after abort, queries as documented,
// every byte checked as it comes back), with no volumes, no catalog file, no compression.
// For fast tests of the client, and as the reference a remote storage manager is tested
// against: it refuses what the local one refuses, and never more leniently.

import { Readable } from 'node:stream';
import type { ActivityLog } from '../../common/activity-log.js';
import { fail } from '../../common/errors.js';
import type { ObjectQuery, ReadOptions, SaveSetInfo, StorageManager, Transaction } from '../storage-manager.js';
import { MemoryMedia, type MemorySaveSet } from './memory-media.js';
import { readMemorySaveSet } from './memory-reader.js';
import { MemoryTransaction } from './memory-transaction.js';

export interface MemoryOptions {
  /** pools that exist (default Data and Logs, as a new local home has) */
  readonly pools?: readonly string[];
  /** raw bytes per record (xfer_buf_size; default 256 KiB) */
  readonly recordSize?: number;
  /** transfer buffers per writer (xfer_buf_count; default 3) */
  readonly bufferCount?: number;
  readonly log?: ActivityLog;
}

/** xfer_buf_size's bounds: a record of any setting reads with any other. */
const MIN_RECORD = 64 * 1024;
const MAX_RECORD = 16 * 1024 * 1024;

export class MemoryStorageManager implements StorageManager {
  readonly recordSize: number;
  readonly bufferCount: number;
  private closed = false;

  private constructor(
    readonly media: MemoryMedia,
    private readonly opts: MemoryOptions,
  ) {
    this.recordSize = opts.recordSize ?? 256 * 1024;
    this.bufferCount = opts.bufferCount ?? 3;
    if (!Number.isInteger(this.recordSize) || this.recordSize < MIN_RECORD || this.recordSize > MAX_RECORD) {
      fail('CONFIG', `record size ${this.recordSize} is out of range (${MIN_RECORD}..${MAX_RECORD} bytes)`);
    }
    if (!Number.isInteger(this.bufferCount) || this.bufferCount < 2 || this.bufferCount > 99)
      fail('CONFIG', `buffer count ${this.bufferCount} is out of range (2..99)`);
  }

  /** A new, empty storage manager with its pools. */
  static create(opts: MemoryOptions = {}): MemoryStorageManager {
    return new MemoryStorageManager(new MemoryMedia(opts.pools ?? ['Data', 'Logs']), opts);
  }

  /** Opens `media` again (as after a restart): what was committed is there, what was being written is gone. */
  static open(media: MemoryMedia, opts: Omit<MemoryOptions, 'pools'> = {}): MemoryStorageManager {
    for (const [id, s] of media.sets) if (s.state !== 'committed') media.sets.delete(id);
    return new MemoryStorageManager(media, opts);
  }

  get smId(): string {
    return this.media.smId;
  }

  async beginTransaction(): Promise<Transaction> {
    this.checkOpen();
    return new MemoryTransaction(this, this.media.nextTxnId());
  }

  async query(q: ObjectQuery): Promise<SaveSetInfo[]> {
    this.checkOpen();
    const out: SaveSetInfo[] = [];
    for (const s of this.media.sets.values()) {
      if (s.state !== 'committed' || !matches(s, q)) continue;
      out.push(this.infoOf(s.id));
    }
    return out.sort((a, b) => a.id - b.id);
  }

  read(id: number, opts: ReadOptions = {}): Readable {
    const chunks = this.readChunks(id, opts);
    // a Readable may hold chunks past the next read: it gets copies
    async function* copies() {
      for await (const c of chunks) yield Buffer.from(c);
    }
    return Readable.from(copies(), { objectMode: false, highWaterMark: this.recordSize });
  }

  readChunks(id: number, opts: ReadOptions = {}): AsyncIterable<Buffer> {
    const set = this.visible(id);
    return readMemorySaveSet({ set, info: this.infoOf(id), signal: opts.signal });
  }

  async checkStored(id: number, opts: ReadOptions = {}): Promise<void> {
    const set = this.visible(id);
    for await (const _ of readMemorySaveSet({ set, info: this.infoOf(id), signal: opts.signal, storedOnly: true })) {
      /* the walk checks */
    }
  }

  async delete(ids: readonly number[]): Promise<void> {
    // all or nothing: every id is checked before any goes
    for (const id of ids) this.visible(id);
    for (const id of ids) {
      this.media.sets.delete(id);
      this.media.deleted.add(id);
    }
    this.opts.log?.info(`deleted save set(s) ${ids.join(', ')}`);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The save set as queries show it: a fresh, frozen copy (its meta parsed from the JSON kept). */
  infoOf(id: number): SaveSetInfo {
    const s = this.media.sets.get(id)!;
    return Object.freeze({
      id: s.id,
      pool: s.pool,
      server: s.server,
      name: s.name,
      kind: s.kind,
      level: s.level,
      meta: JSON.parse(s.meta) as Record<string, unknown>,
      created: s.created,
      committed: s.committed ?? '',
      rawBytes: s.end?.rawBytes ?? 0,
      storedBytes: s.end?.rawBytes ?? 0,
      records: s.end?.records ?? 0,
      hash: s.end?.hash ?? '',
      compression: s.compression,
      volumes: [],
    });
  }

  checkOpen(): void {
    if (this.closed) fail('USAGE', 'the storage manager is closed');
  }

  /** A committed save set, or NOT_FOUND (thrown at once, as the local one throws before reading). */
  private visible(id: number): MemorySaveSet {
    this.checkOpen();
    const s = this.media.sets.get(id);
    if (!s || s.state !== 'committed') fail('NOT_FOUND', `save set ${id} does not exist`);
    return s;
  }
}

function matches(s: MemorySaveSet, q: ObjectQuery): boolean {
  const eq = <T>(want: T | undefined, have: T) => want === undefined || want === have;
  return (
    eq(q.id, s.id) &&
    eq(q.server, s.server) &&
    eq(q.name, s.name) &&
    eq(q.kind, s.kind) &&
    eq(q.level, s.level ?? undefined) &&
    eq(q.pool, s.pool) &&
    // ISO times compare as text, as the local catalog compares them
    (q.after === undefined || s.committed! >= q.after) &&
    (q.before === undefined || s.committed! < q.before)
  );
}
