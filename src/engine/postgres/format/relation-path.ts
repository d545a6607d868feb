// PostgreSQL's relation files: the grammar of their paths within a space (GetRelationPath
// read backwards), their fork numbers and names, and the OIDs of the two built-in
// tablespaces. The only parser of a relation path; it reads names, never files.
//
//   pg_global  : global/REL[_fork][.seg]
//   pg_default : DB/REL[_fork][.seg]                        (relative to base/)
//   tablespace : PG_<major>_<catversion>/DB/REL[_fork][.seg] (relative to its location)

/** pg_tablespace.dat: the tablespace of base/ and the one of global/ */
export const DEFAULTTABLESPACE_OID = 1663;
export const GLOBALTABLESPACE_OID = 1664;

/** ForkNumber (relpath.h) */
export const FORK = Object.freeze({ MAIN: 0, FSM: 1, VM: 2, INIT: 3 });
/** forkNames: a fork's name, also its files' suffix (`_fsm`) but for main, which has none */
export const FORK_NAMES: readonly string[] = ['main', 'fsm', 'vm', 'init'];
const FORK_OF_SUFFIX: Readonly<Record<string, number>> = {
  '': FORK.MAIN,
  _fsm: FORK.FSM,
  _vm: FORK.VM,
  _init: FORK.INIT,
};

const FILE_NAME = /^(\d+)(_fsm|_vm|_init)?(?:\.(\d+))?$/;
const FILE_PATH = /^(?:(global)|(?:PG_\d+_\d+\/)?(\d+))\/(\d+)(_fsm|_vm|_init)?(?:\.(\d+))?$/;
/** TABLESPACE_VERSION_DIRECTORY: PG_<major>_<catversion>, what a tablespace holds per major version */
const VERSION_DIR = /^PG_(\d+)_\d+$/;
/** a temporary relation's file (t<backend>_<relfilenode>...): never copied */
const TEMP_FILE_NAME = /^t\d+_\d+/;

/** A relation file's name, without its directory: REL[_fork][.seg]. */
export interface RelationFileName {
  readonly rel: number;
  readonly fork: number;
  /** the segment number (`.1`): each segment holds RELSEG_BLOCKS pages */
  readonly segment: number;
}

/** A relation file's path within its space; `db` is 0 for the shared catalogs of global/. */
export interface RelationPath extends RelationFileName {
  readonly db: number;
}

export function relationFileName(name: string): RelationFileName | undefined {
  const m = FILE_NAME.exec(name);
  if (!m) return undefined;
  return { rel: Number(m[1]), fork: FORK_OF_SUFFIX[m[2] ?? '']!, segment: Number(m[3] ?? 0) };
}

export function relationPath(relPath: string): RelationPath | undefined {
  const m = FILE_PATH.exec(relPath);
  if (!m) return undefined;
  return {
    db: m[1] ? 0 : Number(m[2]),
    rel: Number(m[3]),
    fork: FORK_OF_SUFFIX[m[4] ?? '']!,
    segment: Number(m[5] ?? 0),
  };
}

/** A tablespace's directory of a major version (PG_15_202209061), of `major` when given. */
export function isTablespaceVersionDir(name: string, major?: number): boolean {
  const m = VERSION_DIR.exec(name);
  return m !== null && (major === undefined || Number(m[1]) === major);
}

export function isTemporaryRelationFile(name: string): boolean {
  return TEMP_FILE_NAME.test(name);
}

/** The tablespace a relation file is in: global/'s, else its space's (null: pg_default). */
export function tablespaceOf(f: RelationPath, spaceOid: number | null): number {
  return f.db === 0 ? GLOBALTABLESPACE_OID : (spaceOid ?? DEFAULTTABLESPACE_OID);
}

/** For a relation segment file, the block number of its first page; undefined for other files. */
export function relationBlockBase(relPath: string, blocksPerSegment: number): number | undefined {
  const f = relationPath(relPath);
  return f === undefined ? undefined : f.segment * blocksPerSegment;
}

/** A free space map's or a visibility map's file. */
export function isMapFork(relPath: string): boolean {
  const f = relationPath(relPath);
  return f !== undefined && (f.fork === FORK.FSM || f.fork === FORK.VM);
}
