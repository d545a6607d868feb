// Sizes, durations and rates as a DBA writes and reads them ("64MiB", "7d", "312 MB/s").

import fs from 'node:fs';

const sizeUnits: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Parses "1048576", "64k", "64MiB", "4 GB" (binary multiples); undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = sizeUnits[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const value = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(value) ? value : undefined;
}

const durationUnits: Record<string, number> = {
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Parses "30s", "15min", "12h", "7d", "2w"; milliseconds, or undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = durationUnits[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

export function formatBytes(n: number): string {
  const abs = Math.abs(n);
  if (abs < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Decimal megabytes per second, as disk vendors and pgBackRest report them. */
export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return '- MB/s';
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${two(m)}:${two(sec)}`;
}

/** Local time as `YYYY-MM-DD HH:MM:SS`, the form of the activity log and listings. */
export function formatTime(d: Date | number | string): string {
  const t = d instanceof Date ? d : new Date(d);
  if (localTimeIsUtc()) return isoTime(t).slice(0, 19).replace('T', ' ');
  const p = (x: number) => String(x).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}

let utcHere: boolean | undefined;

/**
 * Whether local time is UTC here, told without V8's time-zone data: the first local-time
 * call of a process sets up ICU's time zones, ~10 ms on a cold page cache and 25-35 ms
 * while a backup's other threads run, paid by every command's first activity-log line
 * (archive_command's included). Servers mostly run in UTC; anywhere else local time is
 * V8's, as before.
 */
function localTimeIsUtc(): boolean {
  if (utcHere === undefined) {
    let link: string | undefined;
    if (process.env.TZ === undefined) {
      try {
        link = fs.readlinkSync('/etc/localtime');
      } catch {
        // a copied zone file, or none: V8 says
      }
    }
    utcHere = isUtcZone(process.env.TZ, link);
  }
  return utcHere;
}

const UTC_ZONE = /^(Etc\/)?(UTC|UCT|Universal|Zulu|GMT|GMT[+-]?0|Greenwich)$/;

/**
 * Whether the zone a process is in is UTC, from TZ (when set) or else the target of the
 * /etc/localtime link (as glibc and ICU take it): only names that are UTC whatever the
 * zone database says; anything else (a POSIX rule such as UTC0, a path, no link) is not.
 */
export function isUtcZone(tz: string | undefined, localtimeLink: string | undefined): boolean {
  if (tz !== undefined) return UTC_ZONE.test(tz.replace(/^:/, ''));
  if (localtimeLink === undefined) return false;
  const m = /(?:^|\/)zoneinfo\/(.+)$/.exec(localtimeLink);
  return m !== null && UTC_ZONE.test(m[1]!);
}

/**
 * UTC time in ISO 8601, as Date#toISOString writes it, made from the UTC fields:
 * toISOString sets up V8's time-zone data on its first call, which takes ~18 ms on a
 * cold page cache, paid by every command on its first record (a backup's history row,
 * archive_command's catalog rows) before anything else could be done.
 */
export function isoTime(d: Date | number = Date.now()): string {
  const t = typeof d === 'number' ? new Date(d) : d;
  const p = (x: number, n = 2) => String(x).padStart(n, '0');
  return `${p(t.getUTCFullYear(), 4)}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())}T${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())}.${p(t.getUTCMilliseconds(), 3)}Z`;
}
