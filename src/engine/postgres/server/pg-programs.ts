// Where the programs of one PostgreSQL major are, for a restore test and the demo: the
// pg_bin setting, else the Debian/Ubuntu and PGDG/RHEL layouts. Never a bin of another
// major: its server refuses the data directory, or reads its postgresql.conf wrongly.
// pg_amcheck may come from a client install of another major (15+ checks 14 and later).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { majorFacts, majorOfVersionText } from '../format/server-version.js';

/** Where packages install the server programs of a major (MAJOR replaced). */
export const SERVER_BIN_LAYOUTS: readonly string[] = Object.freeze([
  '/usr/lib/postgresql/MAJOR/bin', // Debian, Ubuntu (apt.postgresql.org too)
  '/usr/pgsql-MAJOR/bin', // PGDG RPMs: RHEL, Rocky, Alma, Fedora
]);

/** The oldest pg_amcheck known to check newer servers than its own (Debian 15's checks 14 to 18). */
const AMCHECK_CLIENT_FROM = 15;

export type FoundBin = { readonly bin: string } | { readonly problem: string; readonly hint: string };

/** The major of the `postgres` in `bin`, from `postgres --version`; undefined when there is none. */
export function binMajor(bin: string): number | undefined {
  const exe = path.join(bin, 'postgres');
  if (!fs.existsSync(exe)) return undefined;
  const r = spawnSync(exe, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? majorOfVersionText(r.stdout) : undefined;
}

const hasServer = (bin: string) => ['postgres', 'pg_ctl'].every((p) => fs.existsSync(path.join(bin, p)));

/** The bin directory of `major`'s server: `pgBin` when set (and of that major), else the first layout that has it. */
export function findServerBin(major: number, pgBin: string | undefined, layouts = SERVER_BIN_LAYOUTS): FoundBin {
  const hint = `set pg_bin to the bin directory of PostgreSQL ${major} (--set pg_bin=DIR, or pg_bin = DIR in the config)`;
  if (pgBin !== undefined) {
    if (!hasServer(pgBin)) return { problem: `pg_bin ${pgBin} holds no postgres and pg_ctl`, hint };
    const has = binMajor(pgBin);
    if (has !== major)
      return {
        problem: `pg_bin ${pgBin} holds PostgreSQL ${has ?? '(version unknown)'}, the backup is of PostgreSQL ${major}`,
        hint,
      };
    return { bin: pgBin };
  }
  const looked = layouts.map((l) => l.replace('MAJOR', String(major)));
  for (const bin of looked) if (hasServer(bin) && binMajor(bin) === major) return { bin };
  return {
    problem: `no PostgreSQL ${major} server programs found (pg_bin is not set; looked in ${looked.join(' and ')})`,
    hint,
  };
}

/**
 * pg_amcheck for a server of `major` run from `serverBin`: beside it, else from a client
 * install of the same major, else of 15 or later (the newest). Undefined on 13, whose
 * amcheck has no verify_heapam, and when there is none.
 */
export function findAmcheck(
  major: number,
  serverBin: string,
  layouts = SERVER_BIN_LAYOUTS,
): { bin: string; major: number } | undefined {
  if (!majorFacts(major)?.heapCheck) return undefined;
  if (fs.existsSync(path.join(serverBin, 'pg_amcheck'))) return { bin: serverBin, major };
  const installed = layouts.flatMap((l) =>
    installedMajors(l).map((m) => ({ bin: l.replace('MAJOR', String(m)), major: m })),
  );
  const usable = installed
    .filter(
      (c) => (c.major >= AMCHECK_CLIENT_FROM || c.major === major) && fs.existsSync(path.join(c.bin, 'pg_amcheck')),
    )
    .sort((a, b) => Number(b.major === major) - Number(a.major === major) || b.major - a.major);
  return usable[0];
}

/** The majors a layout holds an install of (its MAJOR part listed in the parent directory). */
function installedMajors(layout: string): number[] {
  const at = layout.indexOf('MAJOR');
  const head = layout.slice(0, at);
  const parent = head.slice(0, head.lastIndexOf('/')) || '/';
  const prefix = head.slice(head.lastIndexOf('/') + 1);
  const suffix = layout.slice(at + 'MAJOR'.length);
  try {
    return fs
      .readdirSync(parent)
      .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
      .map((n) => Number(n.slice(prefix.length)))
      .filter((m) => fs.existsSync(path.join(parent, `${prefix}${m}${suffix}`)));
  } catch {
    return [];
  }
}
