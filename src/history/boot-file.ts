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

import fs from 'node:fs';
import path from 'node:path';
import { appendLineDurableSync, writeFileAtomicSync } from '../common/durable-fs.js';
import { fail } from '../common/errors.js';
import type { ObjectType } from './history-db.js';

export const BOOT_FILE_VERSION = 1;
const HEADER = [
  `# openbar boot file, version ${BOOT_FILE_VERSION}`,
  '# server object type action level copy base start_lsn stop_lsn timeline first_wal time',
];

export interface BootLine {
  readonly server: string;
  readonly object: string;
  readonly type: ObjectType;
  readonly action: number;
  readonly level: number;
  readonly copyIds: readonly number[];
  readonly baseId: number | null;
  readonly startLsn: string | null;
  readonly stopLsn: string | null;
  readonly timeline: number | null;
  readonly firstWal: string | null;
  readonly time: string;
}

export function bootFilePath(home: string, server: string): string {
  return path.join(home, `ixbar.${server}`);
}

const dash = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '-' : String(v));

const escapeName = (s: string) => s.replace(/[%\s\x00-\x1f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
const unescapeName = (s: string) => s.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

export function formatBootLine(l: BootLine): string {
  return [l.server, escapeName(l.object), l.type, l.action, l.level, l.copyIds.length ? l.copyIds.join(',') : '-', dash(l.baseId), dash(l.startLsn), dash(l.stopLsn), dash(l.timeline), dash(l.firstWal), l.time].join(' ');
}

export function parseBootLine(line: string, where: string): BootLine {
  const f = line.trim().split(/\s+/);
  if (f.length !== 12) fail('FORMAT', `${where}: expected 12 fields, found ${f.length}`);
  if (!['R', 'D', 'B', 'L', 'M'].includes(f[2]!)) fail('FORMAT', `${where}: unknown object type '${f[2]}'`);
  const num = (s: string) => (s === '-' ? null : Number(s));
  const str = (s: string) => (s === '-' ? null : s);
  return {
    server: f[0]!, object: unescapeName(f[1]!), type: f[2] as ObjectType, action: Number(f[3]), level: Number(f[4]),
    copyIds: f[5] === '-' ? [] : f[5]!.split(',').map(Number), baseId: num(f[6]!), startLsn: str(f[7]!), stopLsn: str(f[8]!),
    timeline: num(f[9]!), firstWal: str(f[10]!), time: f[11]!,
  };
}

/** Creates the boot file with its header if it does not exist. */
export function ensureBootFile(file: string): void {
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (const h of HEADER) appendLineDurableSync(file, h);
}

export function appendBootLines(file: string, lines: readonly BootLine[]): void {
  ensureBootFile(file);
  if (lines.length === 0) return;
  appendLineDurableSync(file, lines.map(formatBootLine).join('\n'));
}

/** Every line; a torn last line (crash during append) is ignored, any other bad line is an error. */
export function readBootFile(file: string): BootLine[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n');
  const torn = !text.endsWith('\n');
  const out: BootLine[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    if (torn && i === lines.length - 1) return;
    out.push(parseBootLine(line, `${file} line ${i + 1}`));
  });
  return out;
}

/** Replaces the whole file (expire, sync): a crash leaves the old file or the new, never a mix. */
export function rewriteBootFile(file: string, lines: readonly BootLine[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = [...HEADER, ...lines.map(formatBootLine)].join('\n') + '\n';
  writeFileAtomicSync(file, text);
}
