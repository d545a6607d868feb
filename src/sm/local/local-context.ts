// What the parts of the local storage manager share: the catalog, where volumes live,
// the activity log and the write settings.

import path from 'node:path';
import type { ActivityLog } from '../../common/activity-log.js';
import { fail } from '../../common/errors.js';
import type { Catalog, PoolRow } from './catalog.js';
import type { Compression } from '../storage-manager.js';

export interface WriteSettings {
  readonly compression: Compression;
  readonly compressionLevel: number;
  /** raw bytes per record (xfer_buf_size) */
  readonly recordSize: number;
  /** records in flight per object writer (xfer_buf_count) */
  readonly bufferCount: number;
}

export interface LocalContext {
  readonly catalog: Catalog;
  readonly home: string;
  readonly log: ActivityLog;
  readonly owner: string;
  readonly write: WriteSettings;
}

export function volumeFileName(label: string): string {
  return `${label}.vol`;
}

/** Where a new volume of `pool` goes; a device the catalog records relative is refused, never resolved. */
export function volumePath(pool: PoolRow, label: string): string {
  if (!path.isAbsolute(pool.device))
    fail('CONFIG', `pool ${pool.name} has the relative device '${pool.device}' in the catalog`, relativeHint);
  return path.join(pool.device, volumeFileName(label));
}

export function defaultDevice(home: string, pool: string): string {
  return path.join(home, 'volumes', pool);
}

/** The fix for a relative path in the catalog (none is written now): record the real directory. */
export const relativeHint =
  'openbar resolves no device against the working directory: run `openbar sm scan --rebuild --device /full/path/of/it` to record where its volumes are';
