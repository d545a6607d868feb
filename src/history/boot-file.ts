// The emergency boot file (ixbar.SERVER), and the only module that reads or writes it.
// Plain text, append-only, one line per successful instance, fsynced on every append;
// enough to pick the backups and WAL of a cold restore with no history database.
//
//   # openbar boot file, version 1
//   # server object type action level copy base start_lsn stop_lsn timeline first_wal time
//   main pg_global R 12 0 41 - 0/5000028 0/5000100 1 000000010000000000000005 2026-11-22T01:02:03.000Z
//
// type: R root space (pg_global), D other space, B backup label, L WAL file, M a named
// restore point (`openbar log mark`; its LSN in stop_lsn, copy 0: it has no save set).
// copy: the storage manager's save-set id(s), comma-separated when a copy has parts.
// base: the copy id of the instance a level 1 or 2 depends on.
// object: names with a space, a percent sign or a control character are %XX-escaped.
// Only valid lines are written; a line read back is checked field by field, and one that
// is not valid is reported and skipped, never trusted and never fatal to the rest.

import fs from 'node:fs';
import path from 'node:path';
import { appendLineDurableSync, writeFileAtomicSync } from '../common/durable-fs.js';
import { fail } from '../common/errors.js';
import { mkdirPrivate } from '../common/private-modes.js';
import type { InstanceRow, ObjectType } from './history-db.js';

export const BOOT_FILE_VERSION = 1;
const HEADER = [
  `# openbar boot file, version ${BOOT_FILE_VERSION}`,
  '# server object type action level copy base start_lsn stop_lsn timeline first_wal time',
];

/** One line: an instance of the history as the boot file keeps it (no id, state or meta), with the action that made it. */
export interface BootLine extends Pick<
  InstanceRow,
  'server' | 'object' | 'type' | 'level' | 'baseId' | 'startLsn' | 'stopLsn' | 'timeline' | 'firstWal' | 'time'
> {
  readonly action: number;
  readonly copyIds: readonly number[];
}

export function bootFilePath(home: string, server: string): string {
  return path.join(home, `ixbar.${server}`);
}

const dash = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '-' : String(v));

const escapeName = (s: string) =>
  s.replace(/[%\s\x00-\x1f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
const unescapeName = (s: string) =>
  s.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

export function formatBootLine(l: BootLine): string {
  return [
    l.server,
    escapeName(l.object),
    l.type,
    l.action,
    l.level,
    l.copyIds.length ? l.copyIds.join(',') : '-',
    dash(l.baseId),
    dash(l.startLsn),
    dash(l.stopLsn),
    dash(l.timeline),
    dash(l.firstWal),
    l.time,
  ].join(' ');
}

/** The text of `l`, checked as a reader will check it: a writer writes valid lines only. */
function checkedLine(l: BootLine): string {
  const text = formatBootLine(l);
  const back = parseBootLine(text);
  if ('error' in back)
    fail('FORMAT', `not writing an invalid boot-file line for ${l.object} of action ${l.action}: ${back.error}`);
  return text;
}

/** Fails as a write of `lines` would, before anything is written (history.db goes first). */
export function checkBootLines(lines: readonly BootLine[]): void {
  for (const l of lines) checkedLine(l);
}

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const WAL_NAME = /^[0-9A-F]{24}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;
const ID = /^[1-9]\d{0,14}$/;
const SERVER = /^[A-Za-z0-9_][A-Za-z0-9_.:@+=-]{0,127}$/;
const TYPES: readonly string[] = ['R', 'D', 'B', 'L', 'M'];
type Fields = [string, string, string, string, string, string, string, string, string, string, string, string];

/** A line that is not a boot-file line: reported (file, line number, why) and skipped. */
export interface BadBootLine {
  readonly file: string;
  readonly line: number;
  readonly why: string;
}

const shown = (v: string) => JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}...` : v);

/** Every field checked (invariant 10: a boot-file line steers a restore): the line, or why it is not one. */
export function parseBootLine(line: string): BootLine | { error: string } {
  if (/[\x00-\x08\x0b-\x1f\x7f\ufffd]/.test(line)) return { error: 'binary bytes in the line' };
  const f = line.trim().split(/\s+/);
  if (f.length !== 12) return { error: `expected 12 fields, found ${f.length}` };
  const [server, object, type, action, level, copy, base, start, stop, timeline, firstWal, time] = f as Fields;
  const bad = (field: string, v: string, what: string) => ({ error: `${field} ${shown(v)} is not ${what}` });
  if (!SERVER.test(server)) return bad('server', server, 'a server name');
  if (!TYPES.includes(type)) return bad('type', type, 'one of R D B L M');
  if (!ID.test(action)) return bad('action', action, 'an action id');
  if (!/^[0-2]$/.test(level)) return bad('level', level, 'a level (0, 1 or 2)');
  if (copy !== '-' && !copy.split(',').every((c) => ID.test(c))) return bad('copy', copy, 'a list of save-set ids');
  if (base !== '-' && !ID.test(base)) return bad('base', base, 'a save-set id');
  for (const [field, v] of [
    ['start_lsn', start],
    ['stop_lsn', stop],
  ] as const)
    if (v !== '-' && !LSN.test(v)) return bad(field, v, 'an LSN');
  if (timeline !== '-' && !(ID.test(timeline) && Number(timeline) <= 0xffffffff))
    return bad('timeline', timeline, 'a timeline');
  if (firstWal !== '-' && !WAL_NAME.test(firstWal)) return bad('first_wal', firstWal, 'a WAL file name');
  if (!TIME.test(time) || !Number.isFinite(Date.parse(time))) return bad('time', time, 'a time');
  if ((type === 'R' || type === 'D' || type === 'B') && (start === '-' || stop === '-'))
    return { error: `a type ${type} line needs its start and stop LSNs` };
  if (type === 'M' && stop === '-') return { error: 'a restore point (type M) needs its LSN in stop_lsn' };
  const num = (v: string) => (v === '-' ? null : Number(v));
  const str = (v: string) => (v === '-' ? null : v);
  return {
    server,
    object: unescapeName(object),
    type: type as ObjectType,
    action: Number(action),
    level: Number(level),
    copyIds: copy === '-' ? [] : copy.split(',').map(Number),
    baseId: num(base),
    startLsn: str(start),
    stopLsn: str(stop),
    timeline: num(timeline),
    firstWal: str(firstWal),
    time,
  };
}

/** Creates the boot file with its header if it does not exist (private, in a private directory). */
export function ensureBootFile(file: string): void {
  if (fs.existsSync(file)) return;
  mkdirPrivate(path.dirname(file));
  for (const h of HEADER) appendLineDurableSync(file, h);
}

export function appendBootLines(file: string, lines: readonly BootLine[]): void {
  ensureBootFile(file);
  if (lines.length === 0) return;
  // a last line cut short by a crash is ended first, so that it cannot swallow this one
  const text = lines.map(checkedLine).join('\n');
  appendLineDurableSync(file, (endsInNewline(file) ? '' : '\n') + text);
}

function endsInNewline(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const b = Buffer.alloc(1);
    return size === 0 || (fs.readSync(fd, b, 0, 1, size - 1) === 1 && b[0] === 0x0a);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Every valid line. A line that is not one (a torn last line, bad fields, junk) is
 * handed to `onBad` and skipped: one damaged line must not hide the rest.
 */
export function readBootFile(file: string, onBad: (b: BadBootLine) => void = () => {}): BootLine[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n');
  const out: BootLine[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const parsed = parseBootLine(line);
    if (!('error' in parsed)) return void out.push(parsed);
    const torn = i === lines.length - 1;
    onBad({ file, line: i + 1, why: torn ? `last line cut short (${parsed.error})` : parsed.error });
  });
  return out;
}

/** Replaces the whole file (expire, sync): a crash leaves the old file or the new, never a mix. */
export function rewriteBootFile(file: string, lines: readonly BootLine[]): void {
  mkdirPrivate(path.dirname(file));
  const text = [...HEADER, ...lines.map(checkedLine)].join('\n') + '\n';
  writeFileAtomicSync(file, text);
}
