// A backup's configuration save set: the server's configuration files that live outside
// its data directory (Debian's /etc/postgresql/N/NAME: postgresql.conf, pg_hba.conf,
// pg_ident.conf, conf.d/), as the server named them when the backup ran. The one module
// that writes and reads it. A restore writes what it reads here into directories it
// chooses, so every path is checked before it is believed (invariant 10): absolute,
// normalised, no `..`, and a file's bytes are what its hash says.
//
// Meta version 1:
//   metaVersion, aid (the backup's action id), dataDir (the data directory the server ran on:
//   written, never read), files (how many entries the content holds: checked against it)
// Content version 1, JSON:
//   { contentVersion, entries: [{ role, path, type, mode, content (base64, files only), sha256 (files only) }] }
//   role: main (config_file), hba (hba_file), ident (ident_file), include (a file or directory
//   an include, include_if_exists or include_dir line names)

import { createHash } from 'node:crypto';
import { fail } from '../../common/errors.js';
import { FieldReader } from '../../common/meta-reader.js';
import { relativePathProblem } from '../../common/names.js';
import type { ConfigEntry } from '../../engine/engine.js';
import type { ObjectDescriptor, SaveSetInfo } from '../../sm/storage-manager.js';
import { backupRecordReader, recordDescriptor, SaveSetKind } from './saveset-kinds.js';

export const CONFIG_META_VERSION = 1;
export const CONFIG_CONTENT_VERSION = 1;
/** the object name of every configuration save set */
export const CONFIG_NAME = 'config_files';

const ROLES = ['main', 'hba', 'ident', 'include'] as const;
const TYPES = ['file', 'dir'] as const;

/** Largest configuration save set a restore reads (its raw bytes): a server's configuration is a few kilobytes. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** What a configuration save set's meta says. */
export interface ConfigMeta {
  readonly aid: number;
  readonly files: number;
}

/** The descriptor of backup `m.aid`'s configuration save set. */
export function encodeConfig(
  at: { readonly pool: string; readonly server: string },
  m: ConfigMeta & { readonly dataDir: string },
): ObjectDescriptor {
  return recordDescriptor(
    at,
    { name: CONFIG_NAME, kind: SaveSetKind.config, version: CONFIG_META_VERSION },
    { aid: m.aid, dataDir: m.dataDir, files: m.files },
  );
}

/**
 * The meta of save set `info`, which backup `aid` of `server` recorded as its configuration;
 * refused (FORMAT) when it is not that, or too large to be one (MAX_CONFIG_BYTES).
 */
export function decodeConfig(info: SaveSetInfo, expect: { server: string; aid: number }): ConfigMeta {
  const { fields: r, bad } = backupRecordReader(
    info,
    { kind: SaveSetKind.config, version: CONFIG_META_VERSION, role: 'configuration', what: 'configuration' },
    expect,
  );
  if (info.rawBytes > MAX_CONFIG_BYTES)
    bad(`it holds ${info.rawBytes} bytes, more than the ${MAX_CONFIG_BYTES} a configuration may`);
  return { aid: expect.aid, files: r.int('files', 1) };
}

/** The content of a configuration save set. */
export function encodeConfigContent(entries: readonly ConfigEntry[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      contentVersion: CONFIG_CONTENT_VERSION,
      entries: entries.map((e) => ({
        role: e.role,
        path: e.path,
        type: e.type,
        mode: e.mode,
        ...(e.type === 'file'
          ? { content: (e.content ?? Buffer.alloc(0)).toString('base64'), sha256: sha256(e.content ?? Buffer.alloc(0)) }
          : {}),
      })),
    }),
    'utf8',
  );
}

/**
 * A configuration save set's content, checked; `id`: the save set, named in failures
 * (FORMAT); `files`: how many entries its meta says it holds. Each path once, at most one
 * main, hba and ident file, and files only below directories.
 */
export function decodeConfigContent(content: Uint8Array, id: number, files?: number): ConfigEntry[] {
  const what = `configuration save set ${id}`;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8'));
  } catch {
    fail('FORMAT', `${what} is not JSON`);
  }
  const r = new FieldReader(json, (why) => fail('FORMAT', `${what}: ${why}`));
  r.version('contentVersion', CONFIG_CONTENT_VERSION, what);
  const entries = r.list('entries', (x, i): ConfigEntry => {
    const o = new FieldReader(x, (why) => r.bad(`entry ${i}: ${why}`));
    const type = o.oneOf('type', TYPES);
    const entry = { role: o.oneOf('role', ROLES), path: absolute(o, 'path'), type, mode: o.int('mode', 0, 0o7777) };
    if (type === 'dir') return entry;
    const text = o.fields.content;
    if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return o.wrong('content', 'base64 text');
    const bytes = Buffer.from(text, 'base64');
    if (sha256(bytes) !== o.text('sha256')) o.bad(`the content of ${entry.path} does not match its hash`);
    return { ...entry, content: bytes };
  });
  if (files !== undefined && files !== entries.length)
    r.bad(`it holds ${entries.length} entries where its meta says ${files}`);
  const paths = new Map<string, ConfigEntry>();
  for (const e of entries) {
    if (paths.has(e.path)) r.bad(`it holds ${e.path} twice`);
    paths.set(e.path, e);
  }
  for (const role of ['main', 'hba', 'ident'] as const) {
    const mine = entries.filter((e) => e.role === role);
    if (mine.length > 1) r.bad(`it holds more than one ${role} file`);
    if (mine[0]?.type === 'dir') r.bad(`its ${role} file ${mine[0].path} is a directory`);
  }
  for (const e of entries) {
    // a file at a path another entry lies below: two entries that would land on one place
    for (let up = e.path.slice(0, e.path.lastIndexOf('/')); up !== ''; up = up.slice(0, up.lastIndexOf('/')))
      if (paths.get(up)?.type === 'file') r.bad(`${e.path} lies below the file ${up}`);
  }
  return entries;
}

/** An absolute path: '/' and a safe relative path (relativePathProblem), so never '/', a trailing '/', NUL or '..'. */
function absolute(r: FieldReader, k: string): string {
  const p = r.text(k);
  return p.startsWith('/') && relativePathProblem(p.slice(1)) === undefined ? p : r.wrong(k, 'an absolute path');
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
