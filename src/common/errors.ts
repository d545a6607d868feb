// The one table of openbar's errors: a stable code, the exit status it maps to,
// and the hint that tells a DBA what to do. Code checks `err.code`, never the message.

export const ExitStatus = Object.freeze({
  ok: 0,
  failed: 1,
  usage: 2,
  damage: 3,
  /**
   * restore_command only: the file is stored but cannot be served. PostgreSQL aborts
   * recovery on an exit status above 125, where 1 would read as the end of the WAL.
   */
  recoveryMustStop: 255,
});

interface ErrorKind {
  readonly exit: number;
  readonly hint?: string;
}

export const errorTable = Object.freeze({
  USAGE: { exit: ExitStatus.usage },
  CONFIG: { exit: ExitStatus.usage },
  BAD_NAME: { exit: ExitStatus.usage },
  NOT_FOUND: { exit: ExitStatus.usage },
  NO_FILE: { exit: ExitStatus.usage },
  NOT_INITIALISED: { exit: ExitStatus.usage, hint: 'run `openbar init` first, or point --config at the right file' },
  CATALOG_MISSING: { exit: ExitStatus.failed, hint: 'run `openbar sm scan --rebuild` to rebuild it from the volumes' },
  CATALOG_BEHIND: {
    exit: ExitStatus.failed,
    hint: 'run `openbar sm scan --rebuild` to rebuild it from the volumes (the old one is kept aside)',
  },
  LABEL_MISMATCH: { exit: ExitStatus.failed },
  CHECKSUM: { exit: ExitStatus.failed },
  TRUNCATED: { exit: ExitStatus.failed },
  FORMAT: { exit: ExitStatus.failed },
  CONFLICT: { exit: ExitStatus.failed },
  BUSY: { exit: ExitStatus.failed },
  IO: { exit: ExitStatus.failed },
  ABORTED: { exit: ExitStatus.failed },
  PG: { exit: ExitStatus.failed },
  UNREACHABLE: { exit: ExitStatus.failed },
  BAD_WAL: { exit: ExitStatus.failed },
  SERVER_RUNNING: {
    exit: ExitStatus.failed,
    hint: 'stop the server (pg_ctl stop -D DIR) or restore into another directory',
  },
  DAMAGE: { exit: ExitStatus.damage },
  INTERNAL: { exit: ExitStatus.failed },
} satisfies Record<string, ErrorKind>);

export type ErrorCode = keyof typeof errorTable;

export class OpenbarError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitStatus: number;

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'OpenbarError';
    this.code = code;
    const kind: ErrorKind = errorTable[code];
    this.hint = hint ?? kind.hint;
    this.exitStatus = kind.exit;
  }
}

export function fail(code: ErrorCode, message: string, hint?: string): never {
  throw new OpenbarError(code, message, hint);
}

export function isOpenbarError(err: unknown, code?: ErrorCode): err is OpenbarError {
  return err instanceof OpenbarError && (code === undefined || err.code === code);
}

/** One line for stderr: `message (hint)`; the caller prefixes `openbar: `. */
export function describeError(err: unknown): string {
  if (err instanceof OpenbarError) return err.hint ? `${err.message}: ${err.hint}` : err.message;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.message) {
    if (e.code === 'ENOSPC')
      return `no space left on device${e.path ? ` (${e.path})` : ''}: free space or point the pool at another device`;
    if (e.code === 'EACCES' || e.code === 'EPERM') return `permission denied${e.path ? `: ${e.path}` : ''}`;
    if (e.code === 'ENOENT') return `no such file or directory${e.path ? `: ${e.path}` : ''}`;
    return e.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** An error as `--json` prints it: `{"error": errorRecord(err)}`, the exit status as without. */
export function errorRecord(err: unknown): { code: string; message: string; hint: string | null; exit: number } {
  if (err instanceof OpenbarError)
    return { code: err.code, message: err.message, hint: err.hint ?? null, exit: err.exitStatus };
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const io = typeof errno === 'string' && /^E[A-Z]+$/.test(errno);
  return { code: io ? 'IO' : 'INTERNAL', message: describeError(err), hint: null, exit: exitStatusOf(err) };
}

export function exitStatusOf(err: unknown): number {
  return err instanceof OpenbarError ? err.exitStatus : ExitStatus.failed;
}
