// The PostgreSQL engine's offline side: what it knows and does with no server running.
// Data directories (a running postmaster, an old cluster's pg_wal, preparing, writing
// spaces back, tablespace links, backup_label and recovery settings, a trial start), WAL
// file names and timelines, recovery targets and the times they name. What a backup
// recorded (label files, tablespaces) comes from storage: it is checked before it names
// a path, and below the data directory nothing is written through a link (TargetDir).

import fs from 'node:fs';
import { trace } from '../../common/trace.js';
import path from 'node:path';
import { fsyncDirSync } from '../../common/durable-fs.js';
import { fail } from '../../common/errors.js';
import { TargetDir } from '../../common/io/target-dir.js';
import type { OfflineEngine, RecordedSpace, RecoveryTarget, RestoreLevel, WalTimelines } from '../engine.js';
import {
  clusterIdentity,
  COPY_MARK,
  isOpenbarOwn,
  restoredCopy,
  runningPostmaster,
  walFilesIn,
} from './restore/cluster-dir.js';
import {
  formatLsn,
  parseLsn,
  parseWalFileName,
  walFileKind,
  walFileName,
  walFilePosition,
  walFileTimeline,
} from './format/lsn.js';
import { historyFileTimeline, parseTimelineHistory, type TimelineHistory } from './format/timeline-history.js';
import { WalFileCheck } from './format/wal-file-check.js';
import { WalTimelineMap } from './wal/wal-timelines.js';
import { writeRecoveryConfig } from './restore/recovery-config.js';
import { restoreTrial, trialPrograms, type TrialPrograms } from './server/restore-trial.js';
import { majorOfVersionNum } from './format/server-version.js';
import { oldWalLink, restoreWalLink } from './restore/wal-link.js';
import { checkConfigPlace, placeConfig, startCommand } from './restore/config-place.js';
import { restoreChainStreams } from './restore/chain-restorer.js';
import { syncTree } from './restore/file-writer.js';
import { CONTROL_FILE } from './format/control-file.js';
import { isTablespaceVersionDir } from './format/relation-path.js';

const PENDING_CONTROL: ReadonlyMap<string, string> = new Map([[CONTROL_FILE, `${CONTROL_FILE}.openbar-restoring`]]);

/**
 * pg_default's root (a data directory's base/, as spaceRoot gave it) -> that data
 * directory: base/ is checked to be a real directory there (only the data directory itself
 * may be a link), whatever an earlier run left.
 */
const baseOf = new Map<string, string>();
const target = (root: string): string | TargetDir => {
  const dataDir = baseOf.get(root);
  return dataDir === undefined ? root : TargetDir.open(dataDir).sub('base');
};

/** The label's files, as read back from storage: only backup_label and tablespace_map, with text. */
function checkLabelFiles(files: unknown): readonly { name: string; content: string }[] {
  if (!Array.isArray(files)) fail('FORMAT', "the backup's label holds no list of files", LABEL_HINT);
  for (const l of files as ({ name?: unknown; content?: unknown } | null)[]) {
    const name = typeof l === 'object' && l !== null ? l.name : undefined;
    if ((name !== 'backup_label' && name !== 'tablespace_map') || typeof l!.content !== 'string') {
      fail(
        'FORMAT',
        `the backup's label holds a file ${JSON.stringify(name)?.slice(0, 100)} that is not backup_label or tablespace_map`,
        LABEL_HINT,
      );
    }
  }
  return files as { name: string; content: string }[];
}

const LABEL_HINT = 'the label is damaged or was altered: restore from another backup';

/** A recorded tablespace oid: it names pg_tblspc/OID. */
function checkOid(oid: unknown, name: string): number {
  if (typeof oid !== 'number' || !Number.isSafeInteger(oid) || oid <= 0 || oid > 0xffffffff)
    fail('FORMAT', `tablespace ${name}: recorded oid ${JSON.stringify(oid)} is not an oid`, LABEL_HINT);
  return oid;
}

/**
 * A space from its levels (one for a level 0) into `root`, durable when it resolves, and
 * each part before `onPartDone` records it. pg_control is written under another name
 * until the restore is complete: a directory left by a failed restore cannot be started
 * by mistake.
 */
async function restoreLevels(
  levels: readonly RestoreLevel[],
  root: string,
  opts: Parameters<OfflineEngine['restoreChain']>[2],
): Promise<{ files: number; bytes: number }> {
  const { onPartDone, ...rest } = opts;
  const synced =
    onPartDone &&
    (async (depth: number, part: number) => {
      await syncTree(root);
      onPartDone(depth, part);
    });
  const r = await restoreChainStreams(levels, target(root), {
    ...rest,
    writeAs: PENDING_CONTROL,
    refuse: (p) =>
      isOpenbarOwn(p) ? `it carries ${p}, a file of openbar's own that no backup holds (a forged stream?)` : undefined,
    ...(synced ? { onPartDone: synced } : {}),
  });
  trace(`restore: written to ${root}`);
  await syncTree(root);
  return { files: r.files, bytes: r.bytes };
}

export const postgresOffline: OfflineEngine = {
  runningServer: runningPostmaster,

  oldDirectory(dataDir) {
    const copy = restoredCopy(dataDir);
    return {
      identity: clusterIdentity(dataDir),
      ...(copy !== undefined ? { restoredCopy: copy } : {}),
      walFiles: walFilesIn(dataDir).map((f) => ({ ...f, path: path.join(dataDir, 'pg_wal', f.name) })),
    };
  },

  checkDirectory(dir, role) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') return `${dir} is not a directory`;
      if (code !== 'ENOENT') return `cannot read ${dir} (${code ?? (err as Error).message})`;
      // it will be made: the nearest directory above it that exists must be writable
      let parent = path.dirname(dir);
      while (!fs.existsSync(parent) && parent !== path.dirname(parent)) parent = path.dirname(parent);
      return writable(parent) ? undefined : `cannot create ${dir}: ${parent} is not writable by this user`;
    }
    if (names.length > 0) {
      const isCluster = role === 'data' ? names.includes('PG_VERSION') : names.every((n) => isTablespaceVersionDir(n));
      if (!isCluster)
        return `${dir} is not empty and does not hold a PostgreSQL ${role === 'data' ? 'data directory' : 'tablespace'}`;
    }
    return writable(dir) ? undefined : `${dir} is not writable by this user`;
  },

  prepareDirectory(dir, role) {
    const problem = this.checkDirectory(dir, role);
    if (problem)
      fail(
        'USAGE',
        problem,
        'restore into an empty directory, or an old data directory of this cluster, that this user can write',
      );
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      return {};
    }
    // initdb --waldir: the link is put back by finish
    const walLink = role === 'data' ? oldWalLink(dir) : undefined;
    for (const n of fs.readdirSync(dir)) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    if (role === 'data') fs.chmodSync(dir, 0o700);
    return walLink !== undefined ? { walLink } : {};
  },

  walFileCheck: (name, expect) => new WalFileCheck(name, expect),

  walTimelines(histories, segmentSize) {
    const problems: string[] = [];
    const parsed: TimelineHistory[] = [];
    for (const [name, content] of histories) {
      const tli = historyFileTimeline(name);
      const h = tli === undefined ? { error: 'is not a history file name' } : parseTimelineHistory(tli, content);
      if ('error' in h) problems.push(`timeline history ${name} ${h.error}`);
      else parsed.push(h);
    }
    return { timelines: timelinesView(new WalTimelineMap(parsed, segmentSize)), problems };
  },

  spaceRoot(dataDir, space: RecordedSpace, mapped) {
    if (space.critical) return dataDir;
    if (space.oid === null) {
      const root = path.join(dataDir, 'base');
      baseOf.set(root, dataDir);
      return root;
    }
    checkOid(space.oid, space.name);
    if (mapped !== undefined) return path.resolve(mapped);
    const recorded = space.location;
    if (typeof recorded !== 'string' || !path.isAbsolute(recorded) || recorded.includes('\0'))
      fail(
        'FORMAT',
        `tablespace ${space.name} has no recorded absolute location (${JSON.stringify(recorded)})`,
        'give it one with --map-tablespace NAME=DIR',
      );
    return path.resolve(recorded);
  },

  // one save set of a level 0: a chain of one level in one part
  restoreSpace: (stream, root, opts) => restoreLevels([{ level: 0, parts: [() => stream] }], root, opts),

  restoreChain: restoreLevels,

  async finish(dataDir, f) {
    const tree = TargetDir.open(dataDir);
    for (const l of checkLabelFiles(f.labelFiles)) {
      if (l.name === 'tablespace_map') continue; // links are made below, remapped as asked
      tree.writeFile(l.name, l.content);
    }
    // the only links a restore makes: pg_tblspc/OID to each tablespace's (mapped) location
    tree.dir('pg_tblspc');
    for (const t of f.tablespaces) {
      const link = tree.path(`pg_tblspc/${checkOid(t.oid, String(t.oid))}`);
      if (!path.isAbsolute(t.location)) fail('INTERNAL', `tablespace ${t.oid}: location ${t.location} is not absolute`);
      fs.rmSync(link, { force: true, recursive: true }); // a link itself, never what it points to
      fs.symlinkSync(t.location, link);
    }
    if (!restoreWalLink(dataDir, f.prepared?.walLink)) tree.dir('pg_wal/archive_status');
    writeRecoveryConfig(dataDir, f.recovery);
    // a copy that does not archive: its WAL must never be salvaged into this server's archive
    if (f.recovery.archiveMode === 'off')
      tree.writeFile(
        COPY_MARK,
        `restored by openbar as a copy with --archive-mode off at ${new Date().toISOString()}\n`,
      );
    await syncTree(dataDir);
    for (const t of f.tablespaces) await syncTree(t.location);
    // last: only now can the directory be started
    const pending = path.join(dataDir, PENDING_CONTROL.get(CONTROL_FILE)!);
    if (fs.existsSync(pending)) {
      tree.dir(path.dirname(CONTROL_FILE)); // not a link: the rename stays in the data directory
      fs.renameSync(pending, path.join(dataDir, CONTROL_FILE));
      fsyncDirSync(path.join(dataDir, path.dirname(CONTROL_FILE)));
    }
  },

  parseTarget(kind, value): RecoveryTarget {
    switch (kind) {
      case 'latest':
        return { kind };
      case 'time': {
        const ms = parseTimestamp(value);
        if (ms === undefined)
          fail(
            'USAGE',
            `--until-time '${value}' is not a time`,
            "use e.g. '2026-11-22 14:05:00+00' (ISO 8601; give the zone)",
          );
        // without a zone openbar and the restored server (its TimeZone) could read it differently
        if (!hasZone(value))
          fail(
            'USAGE',
            `--until-time '${value}' has no time zone`,
            `add one, e.g. '${value.trim()}+00' or '${value.trim()}Z' for UTC`,
          );
        return { kind, value: value.trim(), ms };
      }
      case 'lsn':
        try {
          return { kind, value: formatLsn(parseLsn(value)) };
        } catch {
          fail('USAGE', `--until-lsn '${value}' is not an LSN`, 'use the form 0/16B3748');
        }
      case 'xid':
        if (!/^\d+$/.test(value.trim()) || BigInt(value.trim()) < 3n)
          fail('USAGE', `--until-xid '${value}' is not a transaction id`);
        return { kind, value: value.trim() };
      case 'name':
        if (value.length === 0 || value.length > 63)
          fail('USAGE', `--until-name '${value}' is not a restore point name`);
        return { kind, value };
    }
  },

  parseTime: parseTimestamp,

  compareLsn(a, b) {
    const x = parseLsn(a);
    const y = parseLsn(b);
    return x < y ? -1 : x > y ? 1 : 0;
  },

  trialPrograms(pgVersion, pgBin) {
    const found = trialPrograms(majorOfVersionNum(pgVersion), pgBin);
    return 'problem' in found ? found : { programs: found };
  },

  trialRun: (dataDir, workDir, user, programs, pgBin) =>
    restoreTrial(dataDir, workDir, user, programs as TrialPrograms | undefined, pgBin),

  checkConfigPlace,
  placeConfig,
  startCommand,

  walPosition(name) {
    const kind = walFileKind(name);
    if (!kind) return undefined;
    // the log and segment parts of the name, after the timeline: fixed-width hex, so they sort as text
    return { kind, position: kind === 'history' ? null : walFilePosition(name), timeline: walFileTimeline(name) };
  },

  nextWal(wal, segmentSize) {
    const w = parseWalFileName(wal, segmentSize) ?? fail('FORMAT', `'${wal}' is not a WAL file name`);
    return walFileName(w.timeline, w.segno + 1n, segmentSize);
  },
};

/** Views a WalTimelineMap with LSNs as text, as the client sees them. */
function timelinesView(m: WalTimelineMap): WalTimelines {
  return {
    timelines: m.timelines,
    holds: (timeline, on, fromLsn, toLsn) => m.holds(timeline, on, parseLsn(fromLsn), parseLsn(toLsn)),
    timelineAt: (timeline, lsn) => m.timelineAt(timeline, parseLsn(lsn)),
    onPath: (timeline, name) => m.onPath(timeline, name),
    *files(timeline, fromLsn) {
      for (const f of m.files(timeline, parseLsn(fromLsn)))
        yield { name: f.name, start: formatLsn(f.start), end: formatLsn(f.end) };
    },
  };
}

/** Whether a timestamp names its zone (Z or an offset). */
function hasZone(text: string): boolean {
  return /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(text.trim());
}

/** ISO 8601 / PostgreSQL-style timestamps; without a zone, local time. Milliseconds since the epoch. */
function parseTimestamp(text: string): number | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      text.trim(),
    );
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac ? Number(frac.padEnd(3, '0').slice(0, 3)) : 0;
  let t: number;
  if (zone === undefined) {
    t = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms).getTime();
  } else {
    t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms);
    if (zone.toUpperCase() !== 'Z') {
      const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
      const off = (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * 60_000;
      t -= zm[1] === '+' ? off : -off;
    }
  }
  if (
    Number.isNaN(t) ||
    Number(mo) < 1 ||
    Number(mo) > 12 ||
    Number(d) < 1 ||
    Number(d) > 31 ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s ?? 0) > 60
  )
    return undefined;
  return t;
}

function writable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
