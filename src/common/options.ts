// The one table of settings: name, how its text is read, default, and help.
// Config files, OPENBAR_* environment variables, `--set key=value` and `openbar
// help config` are all driven from here.

import os from 'node:os';
import { parseDuration, parseSize } from './units.js';

// Validation is a plain function per type: every openbar process, archive_command
// included, reads the config at start, and a schema library cost 100 ms there.

/** A value, or the reason the text is not one. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
export type Parser<T> = (text: string) => Parsed<T>;

const good = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

const size =
  (min: number, max: number): Parser<number> =>
  (s) => {
    const n = parseSize(s);
    if (n === undefined) return bad(`'${s}' is not a size (e.g. 1MiB, 512k)`);
    return n < min || n > max ? bad(`${s} is out of range (${min}..${max} bytes)`) : good(n);
  };

const int =
  (min: number, max: number): Parser<number> =>
  (s) => {
    const n = Number(s);
    return !/^\d+$/.test(s.trim()) || n < min || n > max
      ? bad(`'${s}' is not a whole number in ${min}..${max}`)
      : good(n);
  };

const duration = (): Parser<number> => (s) => {
  const n = parseDuration(s);
  return n === undefined ? bad(`'${s}' is not a duration (e.g. 30s, 5min, 7d)`) : good(n);
};

const oneOf =
  <T extends string>(...values: [T, ...T[]]): Parser<T> =>
  (s) =>
    (values as string[]).includes(s) ? good(s as T) : bad(`'${s}' is not one of ${values.join(', ')}`);

const text = (): Parser<string> => (s) => (s.length === 0 ? bad('must not be empty') : good(s));

function defaultServerName(): string {
  return (
    os
      .hostname()
      .replace(/[^A-Za-z0-9_.:@+=-]/g, '_')
      .replace(/^[^A-Za-z0-9_]/, '_')
      .slice(0, 64) || 'local'
  );
}

/** name → (parser, default as text, help). A default of undefined means "no default". */
export const optionTable = {
  home: {
    parse: text(),
    def: undefined,
    help: 'the openbar home: catalogs, boot files, activity log and the default volume device',
  },
  server: {
    parse: text(),
    def: defaultServerName(),
    help: 'the name this database server is known by in the storage manager and history',
  },
  pg_data: { parse: text(), def: undefined, help: 'the PostgreSQL data directory of the server' },
  pg_host: { parse: text(), def: '/var/run/postgresql', help: 'the socket directory (or host) of the server' },
  pg_port: { parse: int(1, 65535), def: '5432', help: 'the port of the server' },
  pg_user: { parse: text(), def: 'postgres', help: 'a superuser (or a user with backup rights) to connect as' },
  pg_database: { parse: text(), def: 'postgres', help: 'the database to connect to' },
  pg_bin: {
    parse: text(),
    def: undefined,
    help: "directory of the server programs (postgres, pg_ctl) of the backup's PostgreSQL major, for `verify --restore-test`; when unset: /usr/lib/postgresql/MAJOR/bin (Debian, Ubuntu), then /usr/pgsql-MAJOR/bin (PGDG RPMs); never another major's",
  },
  compression: {
    parse: oneOf('none', 'lz4', 'zstd'),
    def: 'zstd',
    help: 'compression of save-set records: none, lz4 or zstd',
  },
  compression_level: { parse: int(1, 19), def: '1', help: 'zstd level (1 is fastest); ignored for lz4 and none' },
  xfer_buf_size: {
    parse: size(64 * 1024, 16 * 1024 * 1024),
    def: '4MiB',
    help: 'size of one transfer buffer (one stored record); any value reads every earlier backup',
  },
  xfer_buf_count: {
    parse: int(2, 99),
    def: '3',
    help: 'transfer buffers per stream; memory per stream is xfer_buf_size × xfer_buf_count (and room for their compressed form)',
  },
  max_backup: { parse: int(1, 64), def: '2', help: 'parallel backup and restore streams' },
  max_volume_size: {
    parse: size(1024 * 1024, 2 ** 50),
    def: '4GiB',
    help: 'size at which a volume of a new pool is closed and the next one labelled',
  },
  progress_freq: {
    parse: duration(),
    def: '30s',
    help: 'how often long operations write progress to the activity log',
  },
  history: {
    parse: oneOf('keep', 'purge'),
    def: 'purge',
    help: 'expired backups: keep their history rows (marked expired) or purge them',
  },
  incremental_method: {
    parse: oneOf('auto', 'wal', 'scan'),
    def: 'auto',
    help: 'how level 1/2 backups find changed pages: wal (block references in the WAL), scan (every page read, LSN compared), auto (wal when the WAL can tell)',
  },
  file_times: {
    parse: oneOf('trust', 'ignore'),
    def: 'trust',
    help: 'level 1/2 by WAL: trust = relation files last modified before the base started are not opened; ignore = every file is opened (for file systems or copies that do not keep modification times honest)',
  },
  wal_summaries: {
    parse: oneOf('on', 'off'),
    def: 'on',
    help: 'level 1/2 by WAL: on = `log archive` stores a summary of each WAL segment (what its records change) and levels 1/2 read those instead of the archived WAL; off = neither (archive_command does less work; levels 1/2 read the archived WAL again)',
  },
  wal_images: {
    parse: oneOf('on', 'off'),
    def: 'on',
    help: 'level 1/2 by WAL: on = a changed page whose last change in the WAL carries its full-page image is restored from that image (as WAL replay would) instead of read from its data file; off = every changed page is read from the files',
  },
  data_pool: { parse: text(), def: 'Data', help: 'pool for storage-space save sets' },
  log_pool: { parse: text(), def: 'Logs', help: 'pool for WAL save sets' },
  activity_log: { parse: text(), def: undefined, help: 'the activity log (default HOME/activity.log)' },
} as const;

export type OptionName = keyof typeof optionTable;
export const optionNames = Object.keys(optionTable) as OptionName[];

type ParsedType<P> = P extends Parser<infer T> ? T : never;

export type Settings = {
  readonly [K in OptionName]: (typeof optionTable)[K]['def'] extends string
    ? ParsedType<(typeof optionTable)[K]['parse']>
    : ParsedType<(typeof optionTable)[K]['parse']> | undefined;
};

export function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(optionTable, name);
}
