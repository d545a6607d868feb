// What the parts of the local storage manager share: the catalog, where volumes live,
// the activity log and the write settings.

import path from 'node:path';
import type { ActivityLog } from '../../common/activity-log.js';
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

export function volumePath(pool: PoolRow, label: string): string {
  return path.join(pool.device, volumeFileName(label));
}

export function defaultDevice(home: string, pool: string): string {
  return path.join(home, 'volumes', pool);
}
