// Administration of a storage manager (ISM's administrator commands): pools, volumes,
// labelling, sessions. Separate from the data interface a backup client uses.

import type { Compression } from './storage-manager.js';

export interface PoolInfo {
  readonly name: string;
  readonly device: string;
  readonly maxVolumeSize: number;
  readonly retentionDays: number | null;
  readonly compression: Compression | null;
  readonly created: string;
  readonly volumes: number;
  readonly bytes: number;
}

export interface NewPool {
  readonly name: string;
  readonly device?: string;
  readonly maxVolumeSize?: number;
  readonly retentionDays?: number | null;
  readonly compression?: Compression | null;
}

export interface VolumeInfo {
  readonly id: number;
  readonly label: string;
  readonly pool: string;
  readonly sequence: number;
  readonly path: string;
  readonly state: string;
  readonly created: string;
  readonly closed: string | null;
  readonly size: number;
  readonly mountedBy: string | null;
  readonly saveSets: number;
}

export interface SessionInfo {
  readonly txn: number;
  readonly owner: string;
  readonly started: string;
  readonly updated: string;
  readonly bytes: number;
  readonly current: string | null;
}

export interface StorageAdmin {
  /** the storage manager's identity, written in the label of every volume it makes */
  readonly smId: string;
  pools(): Promise<PoolInfo[]>;
  createPool(p: NewPool): Promise<PoolInfo>;
  volumes(): Promise<VolumeInfo[]>;
  labelVolume(pool: string): Promise<VolumeInfo>;
  sessions(): Promise<SessionInfo[]>;
}
