// What a page-level incremental backup must read: every (relation, fork, block) the WAL
// between two LSNs touches, and the events that change relation files without block
// references (created, truncated, dropped files; created and dropped databases). Fed one
// segment at a time, so memory follows distinct blocks, not WAL volume; reads no files.

import type { Lsn } from '../format/lsn.js';
import { BlockSet } from './block-set.js';
import { BlockImages, type KeptImages, type RelImageSlots } from './block-images.js';
import type { WalFormat } from '../format/wal-format.js';
import { decodeRecord, DecodedRecord } from './wal-record.js';
import { WalRecordReader, type PartialRecord, type WalStop } from './wal-record-reader.js';
import { readSpecialRecord, type WalEvent } from './special-record.js';
import type { WalSummary } from '../format/wal-summary.js';
import { PAGE_SIZE } from '../format/page-size.js';

export interface ChangedRelation {
  readonly spcOid: number;
  readonly dbOid: number;
  readonly relNumber: number;
  /** `spc/db/rel`, as pg_waldump prints it */
  readonly key: string;
  /** fork number → distinct block numbers, ascending */
  readonly forks: ReadonlyMap<number, Uint32Array>;
}

type Ev<K extends WalEvent['kind']> = Extract<WalEvent, { kind: K }>;

export interface WalChanges {
  readonly relations: ReadonlyMap<string, ChangedRelation>;
  /** distinct (relation, fork, block) triples */
  readonly blockCount: number;
  readonly created: readonly Ev<'create'>[];
  readonly truncated: readonly Ev<'truncate'>[];
  readonly droppedRels: readonly Ev<'drop-rels'>[];
  readonly databasesCreated: readonly Ev<'create-database'>[];
  readonly databasesDropped: readonly Ev<'drop-database'>[];
  /** the first MAX_UNKNOWN of them; unknownCount has them all */
  readonly unknown: readonly Ev<'unknown'>[];
  readonly unknownCount: number;
  readonly startLsn: Lsn;
  readonly endLsn: Lsn;
  /** every record starting in [startLsn, endLsn) was read and checked */
  readonly complete: boolean;
  /** where and why reading ended: `end-of-range` when complete */
  readonly stop: WalStop;
  readonly stoppedAt: Lsn;
  readonly records: number;
  readonly walBytes: number;
  /** pages restored from full-page images that are their blocks' last references (BlockRefOptions.keepImages) */
  readonly images?: KeptImages;
}

export interface BlockRefOptions {
  readonly startLsn: Lsn;
  /** records starting before this LSN are read */
  readonly endLsn: Lsn;
  /** BLCKSZ, the data page size (PAGE_SIZE unless PostgreSQL was built otherwise) */
  readonly blockSize?: number;
  readonly format?: WalFormat;
  readonly sysid?: bigint;
  /** keep up to this many pages restored from full-page images (see block-images.ts); none when absent */
  readonly keepImages?: number;
  /** sees each decoded record (reused object: copy what you keep) */
  readonly onRecord?: (rec: DecodedRecord, format: WalFormat) => void;
}

/** unknown events kept in full (all are counted) */
export const MAX_UNKNOWN = 1000;

class RelEntry {
  readonly forks: (BlockSet | undefined)[] = [undefined, undefined, undefined, undefined];
  next: RelEntry | undefined;
  /** main-fork blocks whose last reference so far restores a kept page */
  images: RelImageSlots | undefined;
  constructor(
    readonly spc: number,
    readonly db: number,
    readonly rel: number,
  ) {}
}

/** Collects block references from segments pushed in order; `finish()` gives the result. */
export class BlockRefCollector {
  private reader: WalRecordReader;
  private readonly rec = new DecodedRecord();
  private readonly rels = new Map<number, RelEntry>();
  private last: RelEntry | undefined;
  private readonly events = {
    created: [] as Ev<'create'>[],
    truncated: [] as Ev<'truncate'>[],
    droppedRels: [] as Ev<'drop-rels'>[],
    databasesCreated: [] as Ev<'create-database'>[],
    databasesDropped: [] as Ev<'drop-database'>[],
    unknown: [] as Ev<'unknown'>[],
  };
  private unknownCount = 0;
  private records = 0;
  private walBytes = 0;
  private endLsn: Lsn;
  private readonly images: BlockImages | undefined;

  constructor(private readonly o: BlockRefOptions) {
    this.endLsn = o.endLsn;
    this.images = o.keepImages ? new BlockImages(o.keepImages, o.blockSize ?? PAGE_SIZE) : undefined;
    this.reader = this.newReader(undefined, undefined);
  }

  /**
   * Where reading starts, once summaries (addSummary) stand for what comes before: from
   * `readFrom`, or on with the record a summary kept the first bytes of. Before any push.
   */
  readFrom(readFrom: Lsn, resume?: PartialRecord): void {
    this.reader = this.newReader(readFrom, resume);
  }

  private newReader(readFrom: Lsn | undefined, resume: PartialRecord | undefined): WalRecordReader {
    const o = this.o;
    const blockSize = o.blockSize ?? PAGE_SIZE;
    const reader: WalRecordReader = new WalRecordReader({
      startLsn: Number(o.startLsn),
      endLsn: Number(this.endLsn),
      format: o.format,
      sysid: o.sysid,
      ...(readFrom !== undefined ? { readFrom: Number(readFrom) } : {}),
      ...(resume ? { resume } : {}),
      onRecord: (bytes, view, off, lsn) => {
        const format = reader.format!;
        const err = decodeRecord(bytes, view, off, lsn, format, blockSize, this.rec);
        if (err) return err;
        this.records++;
        this.walBytes += this.rec.totLen;
        // the reader stands at the next record: where this one ends (EndRecPtr)
        this.addBlocks(this.rec, format, reader.nextLsn);
        const ev = readSpecialRecord(this.rec, format);
        if (typeof ev === 'string') return ev;
        if (ev) this.addEvent(ev);
        o.onRecord?.(this.rec, format);
        return undefined;
      },
    });
    return reader;
  }

  /** Feeds the next segment file (whole); `segno` from its file name when known. */
  push(segment: Uint8Array, segno?: number, filled?: number): void {
    this.reader.push(segment, segno, filled);
  }

  /** The LSN of the next byte the reader needs: past a segment's end, nothing more of it is wanted. */
  get nextLsn(): number {
    return this.reader.nextLsn;
  }

  /** The end LSN, once known (see WalRecordReader.setEnd). */
  setEnd(lsn: Lsn): void {
    this.endLsn = lsn;
    this.reader.setEnd(Number(lsn));
  }

  /** True once the end LSN is reached or reading stopped on bad or missing WAL. */
  get done(): boolean {
    return this.reader.done;
  }

  get segmentSize(): number | undefined {
    return this.reader.segSize;
  }

  finish(): WalChanges {
    const stop = this.reader.finish();
    const relations = new Map<string, ChangedRelation>();
    let blockCount = 0;
    for (const head of this.rels.values()) {
      for (let e: RelEntry | undefined = head; e; e = e.next) {
        const forks = new Map<number, Uint32Array>();
        e.forks.forEach((set, fork) => {
          if (!set) return;
          const blocks = set.toSortedArray();
          blockCount += blocks.length;
          forks.set(fork, blocks);
        });
        const key = `${e.spc}/${e.db}/${e.rel}`;
        relations.set(key, { spcOid: e.spc, dbOid: e.db, relNumber: e.rel, key, forks });
      }
    }
    return {
      relations,
      blockCount,
      ...this.events,
      unknownCount: this.unknownCount,
      startLsn: this.o.startLsn,
      endLsn: this.endLsn,
      complete: stop.reason === 'end-of-range',
      stop,
      stoppedAt: BigInt(stop.lsn),
      records: this.records,
      walBytes: this.walBytes,
      ...(this.images ? { images: this.images.finish(this.entries()) } : {}),
    };
  }

  private *entries(): Generator<RelEntry> {
    for (const head of this.rels.values()) for (let e: RelEntry | undefined = head; e; e = e.next) yield e;
  }

  /**
   * Takes what a segment's summary says in place of reading the segment: the blocks last
   * referenced at or after the start LSN, and the events from it on.
   */
  addSummary(s: WalSummary): void {
    const from = Number(this.o.startLsn);
    this.records += s.records;
    this.walBytes += s.walBytes;
    for (const f of s.forks) {
      let set: BlockSet | undefined;
      for (let i = 0; i < f.blocks.length; i++) {
        if (f.lsns[i]! < from) continue;
        set ??= this.forkSet(f.spcOid, f.dbOid, f.relNumber, f.fork);
        set.add(f.blocks[i]!);
      }
    }
    for (const ev of s.events) if (ev.lsn >= from) this.addEvent(ev);
    if (s.lastUnknownLsn >= from) {
      const listed = s.unknown.filter((u) => u.lsn >= from);
      for (const u of listed) this.addEvent(u);
      // those beyond the list: counted, not kept (the list holds the first MAX_UNKNOWN)
      this.unknownCount += s.unknownCount - s.unknown.length;
    }
  }

  private forkSet(spc: number, db: number, rel: number, fork: number): BlockSet {
    const e = this.entry(spc, db, rel);
    return (e.forks[fork] ??= new BlockSet());
  }

  private entry(spc: number, db: number, rel: number): RelEntry {
    let e = this.last;
    if (!e || e.rel !== rel || e.db !== db || e.spc !== spc) {
      const head = this.rels.get(rel);
      for (e = head; e && (e.db !== db || e.spc !== spc); e = e.next);
      if (!e) {
        e = new RelEntry(spc, db, rel);
        e.next = head;
        this.rels.set(rel, e);
      }
      this.last = e;
    }
    return e;
  }

  private addBlocks(rec: DecodedRecord, format: WalFormat, endLsn: number): void {
    const images = this.images;
    for (let i = 0; i < rec.blockCount; i++) {
      const e = this.entry(rec.spcOid[i]!, rec.dbOid[i]!, rec.relNumber[i]!);
      const fork = rec.forkFlags[i]! & 0x0f;
      (e.forks[fork] ??= new BlockSet()).add(rec.blockNumber[i]!);
      // a main-fork page: kept when this reference restores it whole, let go otherwise
      if (images && fork === 0 && (e.images || rec.hasImage(i)))
        images.note((e.images ??= new Map()), rec, i, format, endLsn);
    }
  }

  private addEvent(ev: WalEvent): void {
    switch (ev.kind) {
      case 'create':
        this.events.created.push(ev);
        break;
      case 'truncate':
        this.events.truncated.push(ev);
        break;
      case 'drop-rels':
        this.events.droppedRels.push(ev);
        break;
      case 'create-database':
        this.events.databasesCreated.push(ev);
        break;
      case 'drop-database':
        this.events.databasesDropped.push(ev);
        break;
      case 'unknown':
        if (this.unknownCount++ < MAX_UNKNOWN) this.events.unknown.push(ev);
        break;
    }
    if (this.images) this.dropImages(ev);
  }

  /** Pages kept from images of relations (or databases) the event creates, truncates or drops are stale. */
  private dropImages(ev: WalEvent): void {
    const images = this.images!;
    const rel = (r: { spcOid: number; dbOid: number; relNumber: number }) => {
      for (let e = this.rels.get(r.relNumber); e; e = e.next)
        if (e.spc === r.spcOid && e.db === r.dbOid && e.images) images.dropAll(e.images);
    };
    const where = (keep: (e: RelEntry) => boolean) => {
      for (const e of this.entries()) if (e.images && !keep(e)) images.dropAll(e.images);
    };
    switch (ev.kind) {
      case 'create':
      case 'truncate':
        rel(ev.rel);
        break;
      case 'drop-rels':
        for (const r of ev.rels) rel(r);
        break;
      case 'create-database':
      case 'drop-database':
        where((e) => e.db !== ev.dbId);
        break;
      case 'unknown':
        where(() => false);
        break;
    }
  }
}
