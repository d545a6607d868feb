// A small in-memory "cluster" for the fake engine: a few spaces of paged files and a WAL
// sequence. Every change to a page is a WAL record and stamps the page with the
// record's LSN (its first 8 bytes), as a real server's pages carry theirs; a commit
// record carries its time. Closed segments are written to a real pg_wal directory (the
// client reads them from there, as archive_command hands it paths); the data files
// stay in memory, but for global/pg_control and PG_VERSION, which a restore and salvage
// read on disk. Each backup's start keeps a snapshot of the files: what a restore of
// it must give back.

import fs from 'node:fs';
import path from 'node:path';
import { PAGE } from './fake-space-stream.js';
import {
  encodeSegment,
  formatLsn,
  parseLsn,
  RECORD_BYTES,
  SEGMENT_SIZE,
  segmentName,
  segnoOf,
  type WalRecord,
} from './fake-wal.js';

export interface FakeFile {
  data: Buffer;
  mtimeMs: number;
}
export interface FakeSpace {
  readonly name: string;
  readonly critical: boolean;
  readonly oid: number | null;
  readonly root: string;
  readonly files: Map<string, FakeFile>;
}
/** A space's files as they were: path to content. */
export type Snapshot = Map<string, Map<string, Buffer>>;

export class FakeCluster {
  readonly systemId = '7300000000000000042';
  readonly segmentSize = SEGMENT_SIZE;
  readonly dataDir: string;
  readonly pgWal: string;
  readonly spaces: FakeSpace[];
  timeline = 1;
  /** the next record's LSN */
  private next = SEGMENT_SIZE; // 0/100000: the first segment's start
  private open: WalRecord[] = [];
  private xid = 700;
  /** backup start LSN -> the files at that moment */
  readonly snapshots = new Map<string, Snapshot>();
  running = true;

  constructor(dir: string, opts: { tablespace?: boolean } = {}) {
    this.dataDir = path.join(dir, 'data');
    this.pgWal = path.join(this.dataDir, 'pg_wal');
    fs.mkdirSync(this.pgWal, { recursive: true, mode: 0o700 });
    this.spaces = [
      { name: 'pg_global', critical: true, oid: null, root: this.dataDir, files: new Map() },
      { name: 'pg_default', critical: false, oid: null, root: path.join(this.dataDir, 'base'), files: new Map() },
      ...(opts.tablespace
        ? [{ name: 'ts1', critical: false, oid: 16_400, root: path.join(dir, 'ts1'), files: new Map() }]
        : []),
    ];
    this.put('pg_global', 'PG_VERSION', Buffer.from('fake\n'));
    this.checkpoint();
    this.createFile('pg_global', 'global/1260', 2);
    this.createFile('pg_default', '1/1259', 4);
    this.createFile('pg_default', '5/16384', 8);
    if (opts.tablespace) this.createFile('ts1', 'PG_17_202401/5/16500', 3);
  }

  get lsn(): string {
    return formatLsn(this.next);
  }
  get nextXid(): number {
    return this.xid;
  }
  get currentSegment(): string {
    return segmentName(this.timeline, segnoOf(this.next));
  }

  space(name: string): FakeSpace {
    return this.spaces.find((s) => s.name === name) ?? assertNever(`no space ${name}`);
  }

  /** A transaction writing `blocks` of a file (made when missing), then its commit. */
  write(space: string, file: string, blocks: readonly number[]): string {
    const xid = this.xid++;
    for (const block of blocks) this.writePage(space, file, block, xid);
    return this.append({ kind: 'commit', xid, time: Date.now() });
  }

  createFile(space: string, file: string, pages: number): string {
    return this.write(
      space,
      file,
      Array.from({ length: pages }, (_, i) => i),
    );
  }

  /** A checkpoint: a record, and pg_control saying where (written through, as the server does). */
  checkpoint(): string {
    const at = this.append({ kind: 'checkpoint' });
    const control = Buffer.alloc(PAGE);
    Buffer.from(JSON.stringify({ systemId: this.systemId, checkpoint: at, timeline: this.timeline })).copy(control, 8);
    this.stamp(control, this.next - RECORD_BYTES);
    this.put('pg_global', 'global/pg_control', control);
    return at;
  }

  restorePoint(name: string): string {
    return this.append({ kind: 'restore-point', name });
  }

  /** Closes the current segment into pg_wal; the next record starts the next segment. */
  switchWal(): { lsn: string; walFile: string } {
    const lsn = this.append({ kind: 'switch' });
    const name = this.currentSegment;
    this.writeSegment(name, true);
    this.next = (segnoOf(this.next) + 1) * this.segmentSize;
    return { lsn, walFile: name };
  }

  /** The server stops (or crashes): what the current segment holds is in pg_wal, as it would be. */
  stop(): void {
    this.writeSegment(this.currentSegment, false);
    this.running = false;
  }

  /** A segment's content: from pg_wal, or the one being written; undefined when neither has it. */
  segment(name: string): Buffer | undefined {
    if (name === this.currentSegment)
      return encodeSegment(
        { systemId: this.systemId, timeline: this.timeline, segno: segnoOf(this.next), records: this.open },
        this.segmentSize,
      );
    try {
      return fs.readFileSync(path.join(this.pgWal, name));
    } catch {
      return undefined;
    }
  }

  /** The files of every space as they are now. */
  snapshot(): Snapshot {
    return new Map(this.spaces.map((s) => [s.name, new Map([...s.files].map(([p, f]) => [p, Buffer.from(f.data)]))]));
  }

  /** Appends a record; a segment too full for more is switched first. Its LSN. */
  append(r: { kind: WalRecord['kind'] } & Record<string, unknown>): string {
    if (r.kind !== 'switch' && (this.open.length + 2) * 200 > this.segmentSize) this.switchWal();
    const lsn = this.next;
    this.open.push({ ...r, lsn } as WalRecord);
    this.next += RECORD_BYTES;
    return formatLsn(lsn);
  }

  private writePage(space: string, file: string, block: number, xid: number): void {
    const s = this.space(space);
    const f = s.files.get(file) ?? { data: Buffer.alloc(0), mtimeMs: Date.now() };
    if (f.data.length < (block + 1) * PAGE)
      f.data = Buffer.concat([f.data, Buffer.alloc((block + 1) * PAGE - f.data.length)]);
    const lsn = parseLsn(this.append({ kind: 'page', space, path: file, block, xid }));
    const page = f.data.subarray(block * PAGE, (block + 1) * PAGE);
    page.fill((lsn / RECORD_BYTES + block) % 251);
    this.stamp(page, lsn);
    f.mtimeMs = Date.now();
    s.files.set(file, f);
  }

  private stamp(page: Buffer, lsn: number): void {
    page.writeBigUInt64BE(BigInt(lsn), 0);
  }

  private put(space: string, file: string, data: Buffer): void {
    this.space(space).files.set(file, { data, mtimeMs: Date.now() });
    const root = this.space(space).root;
    if (space === 'pg_global') {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), data);
    }
  }

  private writeSegment(name: string, close: boolean): void {
    fs.writeFileSync(
      path.join(this.pgWal, name),
      encodeSegment(
        { systemId: this.systemId, timeline: this.timeline, segno: segnoOf(this.next), records: this.open },
        this.segmentSize,
      ),
    );
    if (close) this.open = [];
  }
}

function assertNever(message: string): never {
  throw new Error(`fake cluster: ${message}`);
}
