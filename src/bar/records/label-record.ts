// A backup's label save set: the one module that writes and reads it. Its meta describes
// the backup (LSNs, timeline, WAL, spaces, levels); its content holds PostgreSQL's label
// files and the backup's file list. Both come back from storage and steer restores, a
// rebuilt history and the next level 1 or 2: each field is checked before it is believed
// (invariant 10), and a save set that is not the label it should be (a catalog rolled back
// and ids reused, a tampered catalog) is refused by name, never met as a TypeError.
//
// Meta version 1 (version-less metas, written before the field existed, are version 1;
// `checksums` and `levels` are absent in the oldest):
//   metaVersion, aid, startLsn, stopLsn, timeline, startWal, startTime, stopTime, nextXid,
//   walFiles, systemId, walSegmentSize, version (PostgreSQL's, as a number), checksums,
//   spaces: [{ name, critical, oid, location }], levels: [{ space, level, baseCopyId, baseAid, method }]
// Content version 1, JSON (version-less contents are version 1; `fileList` is absent in the oldest):
//   { contentVersion, labelFiles: [{ name, content }], fileList: base64 of backup/file-list.ts's record }

import { fail } from '../../common/errors.js';
import { FieldReader, metaReader } from '../../common/meta-reader.js';
import type { RecordedSpace } from '../../engine/engine.js';
import type { ObjectDescriptor, SaveSetInfo } from '../../sm/storage-manager.js';
import { backupRecordReader, recordDescriptor, SaveSetKind } from './saveset-kinds.js';

export const LABEL_META_VERSION = 1;
export const LABEL_CONTENT_VERSION = 1;
/** the object name of every label save set */
export const LABEL_NAME = 'backup_label';

/** How one space of the backup found its level, as the label records it. */
export interface LabelLevel {
  readonly space: string;
  readonly level: number;
  readonly baseCopyId: number | null;
  readonly baseAid: number | null;
  readonly method: 'wal' | 'scan' | null;
}

/** Everything a backup writes in its label's meta. */
export interface LabelFields {
  readonly aid: number;
  readonly startLsn: string;
  readonly stopLsn: string;
  readonly timeline: number;
  readonly startWal: string;
  readonly startTime: string;
  readonly stopTime: string;
  readonly nextXid: string;
  readonly walFiles: readonly string[];
  readonly systemId: string;
  readonly walSegmentSize: number;
  /** PostgreSQL's version number (stored as `version`) */
  readonly pgVersion: number;
  readonly checksums: boolean;
  readonly spaces: readonly RecordedSpace[];
  readonly levels: readonly LabelLevel[];
}

/** A label's meta as a restore, a verify or a level 1/2 on it reads it. */
export interface LabelMeta extends Omit<LabelFields, 'pgVersion' | 'checksums' | 'levels'> {
  /** absent in labels written before it was recorded */
  readonly checksums?: boolean;
}

/** What a history rebuilt from the save sets (`sync --from-storage`) needs of a label. */
export interface LabelEntry {
  readonly aid: number;
  readonly startLsn: string;
  readonly stopLsn: string;
  readonly timeline: number;
  readonly startWal: string;
  readonly stopTime: string;
  readonly systemId?: string;
  readonly pgVersion?: number;
  readonly spaces: readonly { readonly name: string; readonly critical: boolean }[];
}

/** The label's content. */
export interface LabelContent {
  /** PostgreSQL's backup_label (and tablespace_map), written into the restored data directory */
  readonly labelFiles: readonly { readonly name: string; readonly content: string }[];
  /** the backup's file list (backup/file-list.ts), undefined when an older openbar recorded none */
  readonly fileList?: Buffer;
}

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const WAL_NAME = /^[0-9A-F]{24}$/;
const DIGITS = /^\d+$/;
const FILE_LIST_FIELD = 'fileList';

/** The descriptor of backup `m.aid`'s label save set. */
export function encodeLabel(
  at: { readonly pool: string; readonly server: string; readonly level: number },
  m: LabelFields,
): ObjectDescriptor {
  return recordDescriptor(
    at,
    { name: LABEL_NAME, kind: SaveSetKind.label, level: at.level, version: LABEL_META_VERSION },
    {
      aid: m.aid,
      startLsn: m.startLsn,
      stopLsn: m.stopLsn,
      timeline: m.timeline,
      startWal: m.startWal,
      startTime: m.startTime,
      stopTime: m.stopTime,
      nextXid: m.nextXid,
      walFiles: m.walFiles,
      systemId: m.systemId,
      walSegmentSize: m.walSegmentSize,
      version: m.pgVersion,
      checksums: m.checksums,
      spaces: m.spaces.map((s) => ({ name: s.name, critical: s.critical, oid: s.oid, location: s.location })),
      levels: m.levels.map((l) => ({
        space: l.space,
        level: l.level,
        baseCopyId: l.baseCopyId,
        baseAid: l.baseAid,
        method: l.method,
      })),
    },
  );
}

/** The label meta of save set `info`, which backup `aid` of `server` recorded; refused when it is not that. */
export function decodeLabelMeta(info: SaveSetInfo, expect: { server: string; aid: number }): LabelMeta {
  const { fields: r, bad } = backupRecordReader(
    info,
    { kind: SaveSetKind.label, version: LABEL_META_VERSION, role: 'backup label', what: 'label' },
    expect,
  );
  const notWal = (): never => bad('its walFiles are not WAL file names');
  if (!Array.isArray(r.fields.walFiles) || r.fields.walFiles.length === 0) notWal();
  const walFiles = r.list('walFiles', (w) => (typeof w === 'string' && WAL_NAME.test(w) ? w : notWal()));
  if (!Array.isArray(r.fields.spaces)) bad('it lists no spaces');
  const spaces = r.list('spaces', (s, i) => recordedSpace(s, i, bad));
  const size = r.int('walSegmentSize', 1 << 20);
  if ((size & (size - 1)) !== 0) bad(`its walSegmentSize ${size} is not a power of two`);
  const checksums = r.optBool('checksums');
  return {
    aid: expect.aid,
    startLsn: r.text('startLsn', LSN),
    stopLsn: r.text('stopLsn', LSN),
    timeline: r.int('timeline', 1),
    startWal: r.text('startWal', WAL_NAME),
    startTime: time(r, 'startTime'),
    stopTime: time(r, 'stopTime'),
    nextXid: r.text('nextXid', DIGITS),
    walFiles,
    walSegmentSize: size,
    systemId: r.text('systemId', DIGITS),
    spaces,
    ...(checksums !== undefined ? { checksums } : {}),
  };
}

/** What the history needs of label save set `info`: the backup, its LSNs and its spaces; fails (FORMAT) naming what is wrong. */
export function decodeLabelEntry(info: SaveSetInfo): LabelEntry {
  const r = metaReader(info, SaveSetKind.label, LABEL_META_VERSION, `label save set ${info.id} of ${info.server}`);
  const spaces = r.list('spaces', (s, i) => {
    const o = new FieldReader(s, (why) => r.bad(`space ${i}: ${why}`));
    return { name: o.text('name', SPACE_NAME), critical: o.bool('critical') };
  });
  const systemId = r.optText('systemId', DIGITS);
  const pgVersion = r.optInt('version', 1);
  return {
    aid: r.int('aid', 1),
    startLsn: r.text('startLsn', LSN),
    stopLsn: r.text('stopLsn', LSN),
    timeline: r.int('timeline', 1),
    startWal: r.text('startWal'),
    stopTime: time(r, 'stopTime'),
    spaces,
    ...(systemId !== undefined ? { systemId } : {}),
    ...(pgVersion !== undefined ? { pgVersion } : {}),
  };
}

/** The content of a label save set. */
export function encodeLabelContent(c: LabelContent): Buffer {
  return Buffer.from(
    JSON.stringify({
      contentVersion: LABEL_CONTENT_VERSION,
      labelFiles: c.labelFiles.map((f) => ({ name: f.name, content: f.content })),
      ...(c.fileList ? { [FILE_LIST_FIELD]: c.fileList.toString('base64') } : {}),
    }),
    'utf8',
  );
}

/** A label save set's content, checked; `id`: the save set, named in failures (FORMAT). */
export function decodeLabelContent(content: Uint8Array, id?: number): LabelContent {
  const what = id === undefined ? 'backup label content' : `backup label save set ${id}`;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8'));
  } catch {
    fail('FORMAT', `${what} is not JSON`);
  }
  const r = new FieldReader(json, (why) => fail('FORMAT', `${what}: ${why}`));
  r.version('contentVersion', LABEL_CONTENT_VERSION, what);
  const labelFiles = r.list('labelFiles', (f, i) => {
    const o = new FieldReader(f, (why) => r.bad(`label file ${i}: ${why}`));
    const content = o.fields.content;
    return { name: o.text('name'), content: typeof content === 'string' ? content : o.wrong('content') };
  });
  const list = r.fields[FILE_LIST_FIELD];
  if (list === undefined) return { labelFiles };
  if (typeof list !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(list))
    fail('FORMAT', `file list: not base64 text (${what})`);
  return { labelFiles, fileList: Buffer.from(list, 'base64') };
}

const SPACE_NAME = /^[^/]+$/;

function time(r: FieldReader, k: string): string {
  const t = r.text(k);
  return Number.isFinite(Date.parse(t)) ? t : r.bad(`its ${k} is not a time`);
}

function recordedSpace(s: unknown, i: number, bad: (why: string) => never): RecordedSpace {
  const o = new FieldReader(s, () => bad(`space ${i} has no valid name`));
  const { name, critical, oid, location } = o.fields;
  if (typeof name !== 'string' || !SPACE_NAME.test(name)) return bad(`space ${i} has no valid name`);
  if (typeof critical !== 'boolean') return bad(`space ${name} says nothing of being critical`);
  const oidOf =
    oid === null
      ? null
      : typeof oid === 'number' && Number.isSafeInteger(oid) && oid > 0
        ? oid
        : bad(`space ${name} has oid ${JSON.stringify(oid)}`);
  const at =
    location === null || location === undefined
      ? null
      : typeof location === 'string' && location.startsWith('/')
        ? location
        : bad(`space ${name} has location ${JSON.stringify(location)}`);
  if (oidOf !== null && at === null) bad(`tablespace ${name} has no location`);
  return { name, critical, oid: oidOf, location: at };
}
