// A backup's configuration save set: the server's configuration files that live outside
// its data directory (Debian's /etc/postgresql/N/NAME: postgresql.conf, pg_hba.conf,
// pg_ident.conf, conf.d/), as the server named them when the backup ran. The one module
// that writes and reads it. A restore writes what it reads here into directories it
// chooses, so every path is checked before it is believed (invariant 10): absolute,
// normalised, no `..`, and a file's bytes are what its hash says.
//
// Meta version 1:
//   metaVersion, aid (the backup's action id), dataDir (the data directory the server ran on),
//   files (how many entries the content holds)
// Content version 1, JSON:
//   { contentVersion, entries: [{ role, path, type, mode, content (base64, files only), sha256 (files only) }] }
//   role: main (config_file), hba (hba_file), ident (ident_file), include (a file or directory
//   an include, include_if_exists or include_dir line names)

import { createHash } from 'node:crypto';
import path from 'node:path';
import { fail } from '../../common/errors.js';
import { FieldReader, metaReader } from '../../common/meta-reader.js';
import type { ConfigEntry } from '../../engine/engine.js';
import type { ObjectDescriptor, SaveSetInfo } from '../../sm/storage-manager.js';
import { recordDescriptor, SaveSetKind } from './saveset-kinds.js';

export const CONFIG_META_VERSION = 1;
export const CONFIG_CONTENT_VERSION = 1;
/** the object name of every configuration save set */
export const CONFIG_NAME = 'config_files';

const ROLES = ['main', 'hba', 'ident', 'include'] as const;
const TYPES = ['file', 'dir'] as const;

/** What a configuration save set's meta says. */
export interface ConfigMeta {
  readonly aid: number;
  readonly dataDir: string;
  readonly files: number;
}

/** The descriptor of backup `m.aid`'s configuration save set. */
export function encodeConfig(at: { readonly pool: string; readonly server: string }, m: ConfigMeta): ObjectDescriptor {
  return recordDescriptor(
    at,
    { name: CONFIG_NAME, kind: SaveSetKind.config, version: CONFIG_META_VERSION },
    { aid: m.aid, dataDir: m.dataDir, files: m.files },
  );
}

/** The meta of configuration save set `info`; fails (FORMAT) naming the save set and the field. */
export function decodeConfig(info: SaveSetInfo): ConfigMeta {
  const r = metaReader(info, SaveSetKind.config, CONFIG_META_VERSION, `configuration save set ${info.id}`);
  return { aid: r.int('aid', 1), dataDir: absolute(r, 'dataDir'), files: r.int('files', 0) };
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

/** A configuration save set's content, checked; `id`: the save set, named in failures (FORMAT). */
export function decodeConfigContent(content: Uint8Array, id: number): ConfigEntry[] {
  const what = `configuration save set ${id}`;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8'));
  } catch {
    fail('FORMAT', `${what} is not JSON`);
  }
  const r = new FieldReader(json, (why) => fail('FORMAT', `${what}: ${why}`));
  r.version('contentVersion', CONFIG_CONTENT_VERSION, what);
  return r.list('entries', (x, i) => {
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
}

function absolute(r: FieldReader, k: string): string {
  const p = r.text(k);
  return path.isAbsolute(p) && path.normalize(p) === p && !p.split('/').includes('..')
    ? p
    : r.wrong(k, 'an absolute path');
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
