// The fake engine's offline side: an OfflineEngine that writes fake space streams back
// into real directories (a temp directory), and an ArchiveChecker that reads them for
// verify. Recovery is not run: finish() writes the recovery settings as JSON beside the
// label, and trialRun() compares what was restored with the cluster's snapshot at the
// backup's start, which is what replaying the backup's own WAL would give back here
// (nothing changes the fake cluster while a backup copies it).

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../src/common/errors.js';
import { TargetDir } from '../../src/common/io/target-dir.js';
import { safeJoin } from '../../src/common/names.js';
import type {
  ArchiveChecker,
  ArchiveFinding,
  ConfigEntry,
  PlacedConfig,
  PreparedDirectory,
  OfflineEngine,
  OldDataDirectory,
  RecordedSpace,
  RecoveryTarget,
  RestoreLevel,
  SpaceCoverage,
} from '../../src/engine/engine.js';
import type { FakeCluster } from './fake-cluster.js';
import { PAGE, readSpaceStream, type ParsedStream } from './fake-space-stream.js';
import {
  compareLsn,
  fakeTimelines,
  fakeWalFileCheck,
  nextWal,
  parseLsn,
  walFileKind,
  walPosition,
} from './fake-wal.js';

export const RECOVERY_FILE = 'fake-recovery.json';
const COPY_MARK = 'fake-restored-copy';

export class FakeOfflineEngine implements OfflineEngine {
  readonly segmentSize: number;

  constructor(private readonly cluster: FakeCluster) {
    this.segmentSize = cluster.segmentSize;
  }

  runningServer(dataDir: string): number | undefined {
    return this.cluster.running && path.resolve(dataDir) === this.cluster.dataDir ? 4242 : undefined;
  }

  oldDirectory(dataDir: string): OldDataDirectory {
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return { identity: undefined, walFiles: [] };
    let identity: OldDataDirectory['identity'];
    try {
      identity = { systemId: controlOf(fs.readFileSync(path.join(dataDir, 'global/pg_control'))).systemId };
    } catch (err) {
      identity = { problem: `has no readable pg_control (${(err as Error).message})` };
    }
    const wal = path.join(dataDir, 'pg_wal');
    const names = fs.existsSync(wal) ? fs.readdirSync(wal).sort() : [];
    const walFiles = names.flatMap((name) => {
      const kind = walFileKind(name);
      return kind === 'segment' || kind === 'history' ? [{ name, path: path.join(wal, name), kind }] : [];
    });
    const copy = path.join(dataDir, COPY_MARK);
    return {
      identity,
      walFiles,
      ...(fs.existsSync(copy) ? { restoredCopy: fs.readFileSync(copy, 'utf8').trim() } : {}),
    };
  }

  checkDirectory(dir: string, role: 'data' | 'tablespace'): string | undefined {
    if (!fs.existsSync(dir)) return undefined;
    const names = fs.readdirSync(dir);
    if (names.length === 0) return undefined;
    const isCluster = role === 'data' ? names.includes('PG_VERSION') : names.every((n) => /^PG_\d+_\d+$/.test(n));
    return isCluster
      ? undefined
      : `${dir} is not empty and does not hold a fake ${role === 'data' ? 'data directory' : 'tablespace'}`;
  }

  prepareDirectory(dir: string, role: 'data' | 'tablespace'): PreparedDirectory {
    const problem = this.checkDirectory(dir, role);
    if (problem) fail('USAGE', problem);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const n of fs.readdirSync(dir)) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    return {};
  }

  /** The fake's configuration: files by role (main.conf, hba.conf, ident.conf), anything else under included/ by its path. */
  private configRel(e: ConfigEntry): string {
    return e.role === 'include' ? `included${e.path}` : `${e.role}.conf`;
  }

  checkConfigPlace(entries: readonly ConfigEntry[], configDir: string | undefined, opts: { ours: boolean }) {
    if (configDir === undefined || opts.ours) return undefined;
    if (!path.isAbsolute(configDir)) return `--config-dir ${configDir} is not an absolute path`;
    const there = entries.find((e) => e.type === 'file' && fs.existsSync(path.join(configDir, this.configRel(e))));
    return there ? `${path.join(configDir, this.configRel(there))} exists` : undefined;
  }

  placeConfig(entries: readonly ConfigEntry[], f: { dataDir: string; configDir: string | undefined }): PlacedConfig {
    const tree = TargetDir.open(f.configDir ?? f.dataDir);
    const written = entries.map((e) => {
      const rel = this.configRel(e);
      if (e.type === 'dir') tree.dir(rel);
      else tree.writeFile(rel, e.content ?? Buffer.alloc(0));
      return tree.path(rel);
    });
    return { written, configDir: tree.root, notes: [] };
  }

  startCommand(dataDir: string, configDir: string | undefined): string {
    return `fake-start ${configDir ?? dataDir}`;
  }

  walFileCheck = (name: string, expect: Parameters<OfflineEngine['walFileCheck']>[1]) =>
    fakeWalFileCheck(name, expect, this.segmentSize);
  walTimelines = fakeTimelines;

  spaceRoot(dataDir: string, space: RecordedSpace, mapped: string | undefined): string {
    if (space.critical) return dataDir;
    if (space.oid === null) return path.join(dataDir, 'base');
    const root = mapped ?? space.location;
    if (!root || !path.isAbsolute(root)) fail('FORMAT', `tablespace ${space.name} has no absolute location`);
    return path.resolve(root);
  }

  async restoreSpace(
    stream: AsyncIterable<Buffer>,
    root: string,
    opts: { onBytes?: (n: number) => void; signal?: AbortSignal },
  ): Promise<{ files: number; bytes: number }> {
    return writeFiles(root, [await readSpaceStream(stream)], opts);
  }

  async restoreChain(
    levels: readonly RestoreLevel[],
    root: string,
    opts: { onBytes?: (n: number) => void; signal?: AbortSignal },
  ): Promise<{ files: number; bytes: number }> {
    const parsed: ParsedStream[][] = [];
    for (const l of levels) {
      const parts: ParsedStream[] = [];
      for (const open of l.parts) parts.push(await readSpaceStream(open()));
      parsed.push(parts);
    }
    return writeFiles(root, parsed.flat(), opts, parsed[0]!.length);
  }

  async finish(dataDir: string, f: Parameters<OfflineEngine['finish']>[1]): Promise<void> {
    for (const l of f.labelFiles) {
      if (l.name !== 'backup_label' && l.name !== 'tablespace_map')
        fail('FORMAT', `the backup's label holds a file '${l.name}'`);
      if (l.name === 'backup_label') fs.writeFileSync(path.join(dataDir, l.name), l.content, { mode: 0o600 });
    }
    fs.mkdirSync(path.join(dataDir, 'pg_tblspc'), { recursive: true });
    for (const t of f.tablespaces) {
      const link = path.join(dataDir, 'pg_tblspc', String(t.oid));
      fs.rmSync(link, { force: true, recursive: true });
      fs.symlinkSync(t.location, link);
    }
    fs.mkdirSync(path.join(dataDir, 'pg_wal'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, RECOVERY_FILE), JSON.stringify(f.recovery));
    if (f.recovery.archiveMode === 'off')
      fs.writeFileSync(path.join(dataDir, COPY_MARK), 'restored as a copy that does not archive\n');
  }

  parseTarget(kind: RecoveryTarget['kind'], value: string): RecoveryTarget {
    switch (kind) {
      case 'latest':
        return { kind };
      case 'time': {
        const ms = Date.parse(value);
        if (!Number.isFinite(ms) || !/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(value.trim()))
          fail('USAGE', `--until-time '${value}' is not a time with a zone`);
        return { kind, value, ms };
      }
      case 'lsn': {
        try {
          parseLsn(value);
        } catch {
          fail('USAGE', `--until-lsn '${value}' is not an LSN`);
        }
        return { kind, value };
      }
      case 'xid':
        return /^\d+$/.test(value) ? { kind, value } : fail('USAGE', `--until-xid '${value}' is not a transaction id`);
      case 'name':
        return { kind, value };
    }
  }

  /** ISO times as Date.parse reads them */
  parseTime(text: string): number | undefined {
    const ms = Date.parse(text);
    return Number.isFinite(ms) ? ms : undefined;
  }

  compareLsn = compareLsn;
  nextWal = nextWal;
  walPosition = walPosition;

  /** The fake's "server programs" are always here. */
  trialPrograms(): { programs: string } {
    return { programs: 'fake' };
  }

  /** Passes when every space restored holds exactly the files the cluster had at the backup's start. */
  async trialRun(dataDir: string): Promise<{ passed: boolean; detail: string; problems: readonly string[] }> {
    const label = fs.readFileSync(path.join(dataDir, 'backup_label'), 'utf8');
    const start = /^START WAL LOCATION: (\S+)/m.exec(label)?.[1] ?? '';
    const snap = this.cluster.snapshots.get(start);
    if (!snap) return { passed: false, detail: 'no snapshot', problems: [`no snapshot of the cluster at ${start}`] };
    const problems: string[] = [];
    for (const s of this.cluster.spaces) {
      const root = s.critical
        ? dataDir
        : s.oid === null
          ? path.join(dataDir, 'base')
          : path.join(dataDir, 'pg_tblspc', String(s.oid));
      const want = snap.get(s.name)!;
      const have = listTree(
        root,
        s.critical ? new Set(['base', 'pg_tblspc', 'pg_wal', 'backup_label', RECOVERY_FILE, COPY_MARK]) : new Set(),
      );
      for (const [p, data] of want)
        if (!have.get(p)?.equals(data)) problems.push(`${s.name}/${p}: ${have.has(p) ? 'differs' : 'missing'}`);
      for (const p of have.keys()) if (!want.has(p)) problems.push(`${s.name}/${p}: not in the cluster at ${start}`);
    }
    return {
      passed: problems.length === 0,
      detail: problems.length === 0 ? `the files of the cluster at ${start}` : `${problems.length} problem(s)`,
      problems,
    };
  }
}

/** Writes files from streams: the first `newest` streams (the newest level's parts) decide files and sizes; a page comes from the first stream holding it. */
function writeFiles(
  root: string,
  streams: readonly ParsedStream[],
  opts: { onBytes?: (n: number) => void; signal?: AbortSignal },
  newest = streams.length,
): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const { entry } of streams.slice(0, newest).flatMap((s) => s.files)) {
    opts.signal?.throwIfAborted();
    const out = Buffer.alloc(entry.size);
    for (let b = 0; b * PAGE < entry.size; b++) {
      const page = streams
        .map((s) => s.files.find((f) => f.entry.path === entry.path)?.pages.get(b))
        .find((p) => p !== undefined);
      page?.copy(out, b * PAGE);
    }
    const file = safeJoin(root, entry.path);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, out, { mode: entry.mode });
    files++;
    bytes += out.length;
    opts.onBytes?.(out.length);
  }
  return { files, bytes };
}

function listTree(root: string, skip: ReadonlySet<string>, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (!fs.existsSync(root)) return out;
  for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (skip.has(p)) continue;
    if (d.isDirectory()) for (const [k, v] of listTree(root, skip, p)) out.set(k, v);
    else out.set(p, fs.readFileSync(path.join(root, p)));
  }
  return out;
}

function controlOf(content: Buffer): { systemId: string } {
  const text = content.subarray(8).toString('utf8').replace(/\0+$/, '');
  const c = JSON.parse(text) as { systemId?: unknown };
  if (typeof c.systemId !== 'string') throw new Error('no system identifier');
  return { systemId: c.systemId };
}

interface FakeCoverage extends SpaceCoverage {
  readonly files: Map<string, { size: number | undefined; pages: Set<number> }>;
}

/** verify's side of the fake engine: reads fake space streams, checks coverage, pg_control and WAL files. */
export const fakeArchiveChecker: ArchiveChecker = {
  newCoverage(): FakeCoverage {
    const files = new Map<string, { size: number | undefined; pages: Set<number> }>();
    return {
      files,
      get fileCount() {
        return [...files.values()].filter((f) => f.size !== undefined).length;
      },
    };
  },

  async scanSpace(stream, opts) {
    const parsed = await readSpaceStream(stream);
    const cov = opts.coverage as FakeCoverage;
    let pages = 0;
    for (const { entry, pages: held } of parsed.files) {
      const c = cov.files.get(entry.path) ?? { size: undefined, pages: new Set<number>() };
      if ((opts.depth ?? 0) === 0) c.size = entry.size;
      for (const b of held.keys()) c.pages.add(b);
      cov.files.set(entry.path, c);
      pages += held.size;
      if (entry.path === 'global/pg_control' && held.has(0)) opts.onControlFile?.(Buffer.from(held.get(0)!));
    }
    opts.onBytes?.(parsed.bytes);
    return { files: parsed.files.length, pages, bytes: parsed.bytes };
  },

  *coverageGaps(space, _oid, coverage): Iterable<ArchiveFinding> {
    for (const [p, f] of (coverage as FakeCoverage).files) {
      if (f.size === undefined) continue;
      for (let b = 0; b * PAGE < f.size; b++) {
        if (!f.pages.has(b)) {
          yield { space, path: p, block: b, problem: 'page in no level of the chain' };
          break;
        }
      }
    }
  },

  checkControlFile(content, systemId) {
    try {
      const c = controlOf(content);
      return c.systemId === systemId ? undefined : `of database system ${c.systemId}, not ${systemId}`;
    } catch (err) {
      return `cannot be read (${(err as Error).message})`;
    }
  },

  walFileCheck(name, segmentSize, systemId) {
    const c = fakeWalFileCheck(name, { systemId, segmentSize }, segmentSize);
    return {
      push: (chunk) => c.push(chunk),
      end: () => {
        const v = c.end();
        return v.ok ? [] : [v.problem];
      },
    };
  },
};
