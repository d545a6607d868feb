// A fake EngineAdapter over a FakeCluster, for unit tests of bar/ without PostgreSQL.
// It fakes the facts at the interface, not the server: backup mode is a checkpoint
// record and a snapshot, stop a record and a segment switch; a copy writes the fake
// space stream of the pages asked for (a level 1 or 2: pages whose LSN is at or after
// the base's start by scan, the pages the WAL's records name by wal, and whole any file
// the base did not hold or that is not a relation); the WAL is read from the Logs pool's segments or summaries,
// else from pg_wal, and says when neither has a file.

import path from 'node:path';
import type {
  BackupHandle,
  ByteSink,
  ConfigEntry,
  EngineAdapter,
  IncrementalSource,
  ServerInfo,
  SpaceFile,
  SpaceInfo,
  SpaceReadOptions,
  WalChangesReading,
  WalFileSummary,
  WalPageChanges,
  WalSources,
  WalSummarizer,
} from '../../src/engine/engine.js';
import type { FakeCluster } from './fake-cluster.js';
import { PAGE, SpaceStreamWriter } from './fake-space-stream.js';
import {
  compareLsn,
  decodeSegment,
  fakeWalFileCheck,
  parseLsn,
  segmentName,
  segnoOf,
  walFileKind,
  type WalRecord,
} from './fake-wal.js';

/** The changed pages the fake WAL names: `space/path/block`. */
export interface FakePageChanges extends WalPageChanges {
  readonly blocks: ReadonlySet<string>;
}

const key = (space: string, file: string, block: number) => `${space}/${file}/${block}`;
const isRelation = (file: string) => /(^|\/)\d+$/.test(file);

export class FakeEngine implements EngineAdapter {
  /** what the tests can see of the engine's use */
  readonly calls = { backupsStarted: 0, backupsStopped: 0, backupsAborted: 0, walReads: [] as string[] };
  /** a copy of this space fails (to test what a failed part leaves) */
  failCopyOf: string | undefined;
  /** the configuration files the fake server keeps outside its data directory (none by default) */
  configEntries: ConfigEntry[] = [];

  constructor(readonly cluster: FakeCluster) {}

  async describe(): Promise<ServerInfo> {
    const c = this.cluster;
    if (!c.running) throw Object.assign(new Error('the fake server is not running'), { code: 'PG' });
    return {
      systemId: c.systemId,
      version: 170_000,
      versionText: '17.0 (fake)',
      dataDir: c.dataDir,
      checksums: true,
      pageSize: PAGE,
      walSegmentSize: c.segmentSize,
      archiveMode: 'on',
      archiveCommand: 'openbar log archive %p',
      walFlushLsn: c.lsn,
    };
  }

  async configFiles(): Promise<ConfigEntry[]> {
    return this.configEntries;
  }

  localIdentity() {
    return { systemId: this.cluster.systemId };
  }

  walFileCheck = (name: string, expect: Parameters<EngineAdapter['walFileCheck']>[1]) =>
    fakeWalFileCheck(name, expect, this.cluster.segmentSize);

  /** the fake opens nothing ahead */
  prepareBackup(): void {}

  /** the fake cannot tell without its "server": the WAL is read once describe() has answered */
  walSurelyWritten(): undefined {
    return undefined;
  }

  async startBackup(label: string): Promise<BackupHandle> {
    const c = this.cluster;
    this.calls.backupsStarted++;
    const startLsn = c.checkpoint();
    c.snapshots.set(startLsn, c.snapshot());
    const startWal = segmentName(c.timeline, segnoOf(parseLsn(startLsn)));
    const timeline = c.timeline;
    let ended = false;
    return {
      startLsn,
      timeline,
      startWal,
      startTime: new Date().toISOString(),
      stop: async () => {
        if (ended) throw new Error('fake engine: backup already ended');
        ended = true;
        this.calls.backupsStopped++;
        const stopLsn = c.append({ kind: 'backup-end' });
        const nextXid = String(c.nextXid);
        const last = c.switchWal().walFile;
        const walFiles: string[] = [];
        for (let s = segnoOf(parseLsn(startLsn)); ; s++) {
          walFiles.push(segmentName(timeline, s));
          if (walFiles[walFiles.length - 1] === last) break;
        }
        const content = `START WAL LOCATION: ${startLsn} (file ${startWal})\nSTART TIMELINE: ${timeline}\nLABEL: ${label}\n`;
        return {
          stopLsn,
          stopTime: new Date().toISOString(),
          walFiles,
          labelFiles: [{ name: 'backup_label', content }],
          nextXid,
        };
      },
      abort: async () => {
        if (!ended) this.calls.backupsAborted++;
        ended = true;
      },
    };
  }

  async spaces(): Promise<SpaceInfo[]> {
    return this.cluster.spaces.map((s) => ({ name: s.name, critical: s.critical, oid: s.oid, root: s.root }));
  }

  async listFiles(space: SpaceInfo): Promise<SpaceFile[]> {
    return [...this.cluster.space(space.name).files]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([p, f]) => ({ path: p, type: 'file' as const, size: f.data.length, mode: 0o600, mtimeMs: f.mtimeMs }));
  }

  /** the fake reads nothing ahead */
  prepareCopy(): void {}

  async copySpace(space: SpaceInfo, files: Iterable<SpaceFile>, sink: ByteSink, opts: SpaceReadOptions): Promise<void> {
    if (this.failCopyOf === space.name)
      throw Object.assign(new Error(`fake engine: cannot read space ${space.name}`), { code: 'IO' });
    const s = this.cluster.space(space.name);
    const out = new SpaceStreamWriter({
      space: space.name,
      level: opts.level,
      part: opts.part,
      parts: opts.parts,
      startLsn: opts.startLsn,
    });
    for (const f of files) {
      opts.signal?.throwIfAborted();
      if (f.type !== 'file') continue;
      const data = s.files.get(f.path)?.data ?? Buffer.alloc(0); // gone since listed: empty, as WAL replay would make it
      const pages = this.pagesToCopy(space, f, data, opts.incremental);
      if (!f.range || f.range.offset === 0) opts.onFile?.(f.path, data.length);
      const bytes = out.file({ path: f.path, size: data.length, mode: f.mode, pages }, (b) =>
        data.subarray(b * PAGE, (b + 1) * PAGE),
      );
      opts.onBytes(bytes);
    }
    const stream = out.end();
    for (let at = 0; at < stream.length; at += 100_000) await sink.write(stream.subarray(at, at + 100_000));
  }

  incrementalBytes(space: SpaceInfo, file: SpaceFile, source: IncrementalSource): number {
    const data = this.cluster.space(space.name).files.get(file.path)?.data ?? Buffer.alloc(0);
    return this.pagesToCopy(space, file, data, source).length * PAGE;
  }

  async switchWal(): Promise<{ lsn: string; walFile: string }> {
    return this.cluster.switchWal();
  }

  async walFilePath(name: string): Promise<string> {
    return path.join(this.cluster.pgWal, name);
  }

  async createRestorePoint(name: string): Promise<{ lsn: string; time: string; xid: string; timeline: number }> {
    const lsn = this.cluster.restorePoint(name);
    return { lsn, time: new Date().toISOString(), xid: String(this.cluster.nextXid), timeline: this.cluster.timeline };
  }

  async walChanges(fromLsn: string, timeline: number, sources: WalSources): Promise<WalChangesReading> {
    return {
      walWritten: () => {},
      abort: () => {},
      finish: async (toLsn) => this.readChanges(fromLsn, toLsn, timeline, sources),
    };
  }

  compareLsn = compareLsn;

  async relationNames(): Promise<Map<string, { database: string; relation: string | null }>> {
    return new Map();
  }

  async close(): Promise<void> {}

  /** Pages of `f` an incremental copies (every page for a level 0, within the piece's range). */
  private pagesToCopy(space: SpaceInfo, f: SpaceFile, data: Buffer, src: IncrementalSource | undefined): number[] {
    const first = f.range ? Math.floor(f.range.offset / PAGE) : 0;
    const end = Math.ceil((f.range ? Math.min(data.length, f.range.offset + f.range.length) : data.length) / PAGE);
    const all = Array.from({ length: Math.max(0, end - first) }, (_, i) => first + i);
    // a file that is not a relation (pg_control, PG_VERSION) is copied whole at every level, as the server's engine does
    if (!src || !isRelation(f.path)) return all;
    const base = src.baseFiles?.sizeOf(f.path);
    if (src.baseFiles && base === undefined) return all; // new since the base: whole
    const baseLsn = parseLsn(src.baseLsn);
    const blocks = (src.changes as FakePageChanges | undefined)?.blocks;
    return all.filter(
      (b) =>
        (base !== undefined && (b + 1) * PAGE > base) ||
        (src.method === 'scan'
          ? Number(data.readBigUInt64BE(b * PAGE)) >= baseLsn
          : blocks?.has(key(space.name, f.path, b)) === true),
    );
  }

  private async readChanges(fromLsn: string, toLsn: string, timeline: number, sources: WalSources) {
    const from = parseLsn(fromLsn);
    const to = parseLsn(toLsn);
    const blocks = new Set<string>();
    let records = 0;
    let walBytes = 0;
    let summarized = 0;
    for (let s = segnoOf(from); s * this.cluster.segmentSize < to; s++) {
      const name = segmentName(timeline, s);
      this.calls.walReads.push(name);
      const summary = await sources.summary(name);
      let list: readonly WalRecord[];
      if (summary) {
        list = (JSON.parse(Buffer.from(summary).toString('utf8')) as { records: WalRecord[] }).records;
        summarized++;
      } else {
        const stored = await sources.archived(name);
        const data = stored ? await whole(stored) : this.cluster.segment(name);
        if (!data) return { incomplete: `WAL file ${name} is neither in the Logs pool nor in pg_wal` };
        const h = decodeSegment(data);
        if (typeof h === 'string') return { incomplete: `WAL file ${name} ${h}` };
        list = h.records;
        walBytes += data.length;
      }
      for (const r of list) {
        if (r.lsn < from || r.lsn >= to) continue;
        records++;
        if (r.kind === 'page') blocks.add(key(r.space, r.path, r.block));
      }
    }
    return { changes: { blockCount: blocks.size, blocks } as FakePageChanges, records, walBytes, summarized };
  }
}

/** What a fake WAL segment changes (its page records) and when its last transaction ended. */
export const fakeWalSummarizer: WalSummarizer = {
  async summarize(name, data): Promise<WalFileSummary | { skipped: string } | undefined> {
    if (walFileKind(name) !== 'segment') return undefined;
    const h = decodeSegment(data);
    if (typeof h === 'string') return { skipped: h };
    const commits = h.records.filter((r) => r.kind === 'commit').map((r) => (r as { time: number }).time);
    return {
      summary: Buffer.from(JSON.stringify({ records: h.records.filter((r) => r.kind === 'page') })),
      lastTransactionMs: commits.length > 0 ? Math.max(...commits) : null,
    };
  },
};

async function whole(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(Buffer.from(c)); // lent: copied
  return Buffer.concat(parts);
}
