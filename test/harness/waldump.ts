// pg_waldump as the reference for the WAL parser tests: runs it over a WAL directory and
// reads its records, block references (with -b) and the desc lines of the Storage,
// Database and Transaction records into the same normalised strings the tests build
// from the parser's output.

import fs from 'node:fs';
import { formatLsn } from '../../src/engine/postgres/format/lsn.js';
import { runPg } from '../../src/engine/postgres/server/sandbox.js';

export interface DumpRecord {
  readonly lsn: bigint;
  readonly rmgr: string;
  readonly desc: string;
  /** `#id spc/db/rel fork blk[ FPW[ verify] hole OFF+LEN[ METHOD]]` */
  readonly blocks: string[];
}

export interface Dump {
  readonly records: DumpRecord[];
  readonly stderr: string;
}

/** pg_waldump -b over `walDir` from `start` (to `end` when given); its output goes through a file, not memory. */
export function waldump(
  bin: string,
  walDir: string,
  start: string,
  end: string | undefined,
  outFile: string,
  extra: readonly string[] = [],
): Dump {
  const args = ['-b', '-p', walDir, '-s', start, ...(end ? ['-e', end] : []), ...extra];
  const fd = fs.openSync(outFile, 'w');
  let r;
  try {
    r = runPg(bin, 'pg_waldump', args, { stdio: ['ignore', fd, 'pipe'] });
  } finally {
    fs.closeSync(fd);
  }
  const records: DumpRecord[] = [];
  let cur: DumpRecord | undefined;
  for (const line of fs.readFileSync(outFile, 'utf8').split('\n')) {
    const m = /^rmgr: (\S+)\s.*lsn: ([0-9A-F]+)\/([0-9A-F]+), prev [0-9A-F/]+, desc: (.*)$/.exec(line);
    if (m) {
      cur = { lsn: (BigInt(`0x${m[2]}`) << 32n) | BigInt(`0x${m[3]}`), rmgr: m[1]!, desc: m[4]!.trim(), blocks: [] };
      records.push(cur);
      continue;
    }
    const b =
      /^\s+blkref #(\d+): rel (\d+\/\d+\/\d+) fork (\w+) blk (\d+)(?: \(FPW( for WAL verification)?\); hole: offset: (\d+), length: (\d+)(?:, compression saved: \d+, method: (\w+))?)?/.exec(
        line,
      );
    if (b && cur) {
      const image =
        b[6] === undefined ? '' : ` FPW${b[5] ? ' verify' : ''} hole ${b[6]}+${b[7]}${b[8] ? ` ${b[8]}` : ''}`;
      cur.blocks.push(`#${b[1]} ${b[2]} ${b[3]} ${b[4]}${image}`);
    }
  }
  return { records, stderr: r.stderr ?? '' };
}

/** `spc/db/rel` and fork of a path as relpathperm prints it (base/…, global/…, pg_tblspc/…). */
export function relOfPath(p: string): { rel: string; fork: number } {
  const forkOf = (s: string | undefined) => (s === undefined ? 0 : ['', 'fsm', 'vm', 'init'].indexOf(s));
  let m = /^base\/(\d+)\/(\d+)(?:_(\w+))?$/.exec(p);
  if (m) return { rel: `1663/${m[1]}/${m[2]}`, fork: forkOf(m[3]) };
  m = /^global\/(\d+)(?:_(\w+))?$/.exec(p);
  if (m) return { rel: `1664/0/${m[1]}`, fork: forkOf(m[2]) };
  m = /^pg_tblspc\/(\d+)\/[^/]+\/(\d+)\/(\d+)(?:_(\w+))?$/.exec(p);
  if (m) return { rel: `${m[1]}/${m[2]}/${m[3]}`, fork: forkOf(m[4]) };
  throw new Error(`not a relation path: ${p}`);
}

export const hexLsn = (lsn: bigint | number): string => formatLsn(BigInt(lsn));

/** The special events pg_waldump describes, as the strings `specialEventsOf` builds from the parser. */
export function specialEventsOfDump(records: readonly DumpRecord[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    const at = hexLsn(r.lsn);
    if (r.rmgr === 'Storage') {
      let m = /^CREATE (\S+)$/.exec(r.desc);
      if (m) {
        const { rel, fork } = relOfPath(m[1]!);
        out.push(`${at} create ${rel} fork ${fork}`);
        continue;
      }
      m = /^TRUNCATE (\S+) to (\d+) blocks flags (\d+)$/.exec(r.desc);
      if (m) out.push(`${at} truncate ${relOfPath(m[1]!).rel} to ${m[2]} flags ${m[3]}`);
      else out.push(`${at} storage? ${r.desc}`);
    } else if (r.rmgr === 'Database') {
      let m = /^CREATE_FILE_COPY copy dir (\d+)\/(\d+) to (\d+)\/(\d+)$/.exec(r.desc);
      if (m) {
        out.push(`${at} create-database file_copy ${m[3]}/${m[4]} from ${m[1]}/${m[2]}`);
        continue;
      }
      m = /^CREATE_WAL_LOG create dir (\d+)\/(\d+)$/.exec(r.desc);
      if (m) {
        out.push(`${at} create-database wal_log ${m[1]}/${m[2]}`);
        continue;
      }
      m = /^DROP dir((?: \d+\/\d+)+)$/.exec(r.desc);
      if (m) {
        const dirs = m[1]!.trim().split(' ');
        out.push(`${at} drop-database ${dirs[0]!.split('/')[1]} in ${dirs.map((d) => d.split('/')[0]).join(',')}`);
      } else out.push(`${at} database? ${r.desc}`);
    } else if (r.rmgr === 'Transaction') {
      const m = /^(COMMIT|ABORT|COMMIT_PREPARED|ABORT_PREPARED) .*?rels: ([^;]+)/.exec(r.desc);
      if (m)
        out.push(
          `${at} drop-rels ${m[1]!.startsWith('COMMIT') ? 'commit' : 'abort'} ${m[2]!
            .trim()
            .split(' ')
            .map((p) => relOfPath(p).rel)
            .join(' ')}`,
        );
    }
  }
  return out;
}
