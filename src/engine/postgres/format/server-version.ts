// The PostgreSQL majors openbar supports and the facts that differ between them outside
// the WAL record layout (wal-format.ts takes its page magic from here): WAL page magic,
// pg_control version, backup functions, initdb's checksum default, amcheck's reach. The
// one place a major is added; a server of any other major is refused before anything starts.

/** The oldest and newest major openbar reads and writes; every major between has a row below. */
export const SUPPORTED_MAJORS = Object.freeze({ oldest: 13, newest: 18 });

export interface MajorFacts {
  readonly major: number;
  /** XLOG_PAGE_MAGIC (access/xlog_internal.h) of the REL_<major>_STABLE branch */
  readonly walPageMagic: number;
  /** PG_CONTROL_VERSION (catalog/pg_control.h) */
  readonly controlVersion: number;
  /**
   * Non-exclusive backup mode, as SQL calls: `$1` the label, fast checkpoint, no wait for
   * archiving (the client checks the Logs pool). pg_backup_start/stop from 15;
   * pg_start_backup/pg_stop_backup with exclusive = false before.
   */
  readonly backupStart: string;
  readonly backupStop: string;
  /** initdb turns data checksums on unless told --no-data-checksums (18+) */
  readonly checksumsByDefault: boolean;
  /** amcheck has verify_heapam (14+), which pg_amcheck needs; 13 has the B-tree checks only */
  readonly heapCheck: boolean;
}

const pre15Backup = {
  backupStart: 'pg_start_backup($1, true, false)',
  backupStop: 'pg_stop_backup(false, false)',
};
const from15Backup = { backupStart: 'pg_backup_start($1, true)', backupStop: 'pg_backup_stop(false)' };

export const MAJORS: readonly MajorFacts[] = Object.freeze([
  {
    major: 13,
    walPageMagic: 0xd106,
    controlVersion: 1300,
    ...pre15Backup,
    checksumsByDefault: false,
    heapCheck: false,
  },
  { major: 14, walPageMagic: 0xd10d, controlVersion: 1300, ...pre15Backup, checksumsByDefault: false, heapCheck: true },
  {
    major: 15,
    walPageMagic: 0xd110,
    controlVersion: 1300,
    ...from15Backup,
    checksumsByDefault: false,
    heapCheck: true,
  },
  {
    major: 16,
    walPageMagic: 0xd113,
    controlVersion: 1300,
    ...from15Backup,
    checksumsByDefault: false,
    heapCheck: true,
  },
  {
    major: 17,
    walPageMagic: 0xd116,
    controlVersion: 1700,
    ...from15Backup,
    checksumsByDefault: false,
    heapCheck: true,
  },
  { major: 18, walPageMagic: 0xd118, controlVersion: 1800, ...from15Backup, checksumsByDefault: true, heapCheck: true },
]);

/** "PostgreSQL 13 to 18": how messages name what is supported. */
export const SUPPORTED_TEXT = `PostgreSQL ${SUPPORTED_MAJORS.oldest} to ${SUPPORTED_MAJORS.newest}`;

/** The major of a server_version_num (130023 → 13, 180004 → 18). */
export function majorOfVersionNum(versionNum: number): number {
  return Math.floor(versionNum / 10000);
}

/** The major of a version line such as `postgres (PostgreSQL) 18.4` or `15.18 (Debian 15.18-0+deb12u1)`. */
export function majorOfVersionText(text: string): number | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(text) ?? /^\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function majorFacts(major: number): MajorFacts | undefined {
  return MAJORS.find((f) => f.major === major);
}

/**
 * Why a server of `versionNum` cannot be backed up or archived, as a message and its
 * fix; undefined when its major is supported.
 */
export function unsupportedServer(
  versionNum: number,
  versionText: string,
): { message: string; hint: string } | undefined {
  const major = majorOfVersionNum(versionNum);
  if (majorFacts(major)) return undefined;
  const message = `PostgreSQL ${versionText} is not supported: openbar supports ${SUPPORTED_TEXT}`;
  const hint =
    major < SUPPORTED_MAJORS.oldest
      ? `upgrade the cluster to PostgreSQL ${SUPPORTED_MAJORS.oldest} or later (pg_upgrade) before backing it up with openbar`
      : `back it up with a release of openbar that supports PostgreSQL ${major}`;
  return { message, hint };
}
