// A backup's label save set as a restore or a verify reads it back: its descriptor (meta)
// is checked field by field before it steers anything, since it comes from storage
// (invariant 10). A save set that is not the label it should be (a catalog rolled back
// and ids reused, a tampered catalog) is refused by name, never met as a TypeError.

import { fail } from '../../common/errors.js';
import type { RecordedSpace } from '../../engine/engine.js';
import type { SaveSetInfo } from '../../sm/storage-manager.js';

export interface LabelMeta {
  readonly aid: number;
  readonly startLsn: string;
  readonly stopLsn: string;
  readonly timeline: number;
  readonly startWal: string;
  readonly startTime: string;
  readonly stopTime: string;
  readonly nextXid: string;
  readonly walFiles: readonly string[];
  readonly walSegmentSize: number;
  readonly systemId: string;
  readonly spaces: readonly RecordedSpace[];
  readonly checksums?: boolean;
}

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const WAL_NAME = /^[0-9A-F]{24}$/;

/** The label meta of save set `info`, which backup `aid` of `server` recorded; refused when it is not that. */
export function decodeLabelMeta(info: SaveSetInfo, expect: { server: string; aid: number }): LabelMeta {
  const bad = (why: string): never => fail('FORMAT', `save set ${info.id} is not the backup label of backup ${expect.aid}: ${why}`,
    'the catalog does not match the history (a catalog put back from a copy?): run `openbar sm scan` and `openbar sync`');
  if (info.kind !== 'label') bad(`it is a save set of kind '${info.kind}'`);
  if (info.server !== expect.server) bad(`it belongs to server ${info.server}`);
  const m = info.meta as Record<string, unknown>;
  if (m.aid !== expect.aid) bad(`it was written by backup ${String(m.aid)}`);
  const text = (k: string, re?: RegExp): string => (typeof m[k] === 'string' && (!re || re.test(m[k] as string)) ? (m[k] as string) : bad(`its ${k} is ${JSON.stringify(m[k])}`));
  const int = (k: string, min: number): number => (Number.isSafeInteger(m[k]) && (m[k] as number) >= min ? (m[k] as number) : bad(`its ${k} is ${JSON.stringify(m[k])}`));
  const walFiles = Array.isArray(m.walFiles) && m.walFiles.length > 0 && m.walFiles.every((w) => typeof w === 'string' && WAL_NAME.test(w)) ? (m.walFiles as string[]) : bad('its walFiles are not WAL file names');
  const spaces = Array.isArray(m.spaces) ? m.spaces.map((s, i) => space(s, i, bad)) : bad('it lists no spaces');
  const size = int('walSegmentSize', 1 << 20);
  if ((size & (size - 1)) !== 0) bad(`its walSegmentSize ${size} is not a power of two`);
  for (const k of ['startTime', 'stopTime']) if (!Number.isFinite(Date.parse(text(k)))) bad(`its ${k} is not a time`);
  return {
    aid: expect.aid, startLsn: text('startLsn', LSN), stopLsn: text('stopLsn', LSN), timeline: int('timeline', 1), startWal: text('startWal', WAL_NAME),
    startTime: text('startTime'), stopTime: text('stopTime'), nextXid: text('nextXid', /^\d+$/), walFiles, walSegmentSize: size,
    systemId: text('systemId', /^\d+$/), spaces, ...(typeof m.checksums === 'boolean' ? { checksums: m.checksums } : {}),
  };
}

function space(s: unknown, i: number, bad: (why: string) => never): RecordedSpace {
  const o = (typeof s === 'object' && s !== null ? s : {}) as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name.length === 0 || o.name.includes('/')) bad(`space ${i} has no valid name`);
  if (typeof o.critical !== 'boolean') bad(`space ${String(o.name)} says nothing of being critical`);
  const oid = o.oid === null ? null : Number.isSafeInteger(o.oid) && (o.oid as number) > 0 ? (o.oid as number) : bad(`space ${String(o.name)} has oid ${JSON.stringify(o.oid)}`);
  const location = o.location === null || o.location === undefined ? null : typeof o.location === 'string' && o.location.startsWith('/') ? o.location : bad(`space ${String(o.name)} has location ${JSON.stringify(o.location)}`);
  if (oid !== null && location === null) bad(`tablespace ${String(o.name)} has no location`);
  return { name: o.name as string, critical: o.critical as boolean, oid, location };
}
