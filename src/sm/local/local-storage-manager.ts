// The in-process storage manager: volumes in local directories, a SQLite catalog in
// the home. Implements the XBSA-like StorageManager and the administration calls
// behind `openbar sm ...`. It never works from a catalog its volumes prove behind.

import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ActivityLog } from '../../common/activity-log.js';
import { fail } from '../../common/errors.js';
import { checkName } from '../../common/names.js';
import { ownerId } from '../../common/process-owner.js';
import { mkdirPrivate } from '../../common/private-modes.js';
import type { ObjectQuery, ReadOptions, SaveSetInfo, StorageManager, Transaction } from '../storage-manager.js';
import type { StorageAdmin, PoolInfo, VolumeInfo, SessionInfo, NewPool } from '../storage-admin.js';
import { Catalog, type FragmentRow, type PoolRow } from './catalog.js';
import { checkCatalogCurrent } from './catalog-currency.js';
import { listVolumeFiles, rebuildCatalog, type RebuildReport } from './catalog-rebuild.js';
import { defaultDevice, volumePath, type LocalContext, type WriteSettings } from './local-context.js';
import { LocalTransaction } from './local-transaction.js';
import { readSaveSet } from './saveset-reader.js';
import { createVolumeFile } from './volume-file.js';
import { subdirs } from './volume-dirs.js';
import { LABEL_SIZE } from './volume-format.js';
import { scanVolume, type VolumeScan } from './volume-scanner.js';
import { recycleVolumes, type RecycledVolume } from './volume-recycler.js';

export interface LocalOptions {
  readonly home: string;
  readonly log: ActivityLog;
  readonly write: WriteSettings;
  /** size at which volumes of the default pools close */
  readonly maxVolumeSize: number;
}

export const defaultPoolNames = Object.freeze(['Data', 'Logs']);

/** The largest record any setting can write (xfer_buf_size's maximum): any save set reads with it. */
const MAX_RECORD = 16 * 1024 * 1024;

export function catalogPath(home: string): string {
  return path.join(home, 'catalog.db');
}

export class LocalStorageManager implements StorageManager, StorageAdmin {
  private constructor(
    private readonly ctx: LocalContext,
    private readonly opts: LocalOptions,
  ) {}

  /** Creates the catalog and the default pools in `home` (openbar init); fine if they exist. */
  static create(opts: LocalOptions): LocalStorageManager {
    mkdirPrivate(opts.home);
    const catalog = Catalog.open(catalogPath(opts.home), { create: true });
    for (const p of defaultPools(opts)) {
      if (!catalog.pool(p.name)) catalog.createPool(p);
      mkdirPrivate(p.device);
    }
    return new LocalStorageManager(
      { catalog, home: opts.home, log: opts.log, owner: ownerId(), write: opts.write },
      opts,
    );
  }

  static open(opts: LocalOptions): LocalStorageManager {
    const file = catalogPath(opts.home);
    if (!fs.existsSync(file)) {
      const volumes = listVolumeFiles(
        defaultPoolNames.map((p) => defaultDevice(opts.home, p)).concat(subdirs(path.join(opts.home, 'volumes'))),
      );
      if (volumes.length > 0)
        fail('CATALOG_MISSING', `the storage-manager catalog ${file} is missing but ${volumes.length} volume(s) exist`);
      fail('NOT_INITIALISED', `${opts.home} is not an openbar home (no ${path.basename(file)})`);
    }
    const catalog = Catalog.open(file, { create: false });
    try {
      checkCatalogCurrent(catalog, opts.home);
    } catch (err) {
      catalog.close();
      throw err;
    }
    return new LocalStorageManager(
      { catalog, home: opts.home, log: opts.log, owner: ownerId(), write: opts.write },
      opts,
    );
  }

  get smId(): string {
    return this.ctx.catalog.smId;
  }

  async beginTransaction(): Promise<Transaction> {
    this.ctx.catalog.releaseStaleMounts();
    return new LocalTransaction(this.ctx, this.ctx.catalog.beginTxn(this.ctx.owner));
  }

  async query(q: ObjectQuery): Promise<SaveSetInfo[]> {
    return this.ctx.catalog.query(q);
  }

  read(id: number, opts: ReadOptions = {}): Readable {
    const chunks = this.readChunks(id, opts);
    // a Readable may hold chunks past the next read: it gets copies
    async function* copies() {
      for await (const c of chunks) yield Buffer.from(c);
    }
    return Readable.from(copies(), { objectMode: false, highWaterMark: this.ctx.write.recordSize });
  }

  readChunks(id: number, opts: ReadOptions = {}): AsyncIterable<Buffer> {
    const info = this.ctx.catalog.query({ id })[0];
    if (!info) fail('NOT_FOUND', `save set ${id} does not exist`, 'list them with `openbar sm savesets`');
    return readSaveSet({
      info,
      fragments: this.ctx.catalog.fragments(id),
      smId: this.smId,
      readAhead: Math.max(1, opts.readAhead ?? this.ctx.write.bufferCount),
      slotSize: Math.max(this.ctx.write.recordSize, MAX_RECORD),
      signal: opts.signal,
    });
  }

  async checkStored(id: number, opts: ReadOptions = {}): Promise<void> {
    const info = this.ctx.catalog.query({ id })[0];
    if (!info) fail('NOT_FOUND', `save set ${id} does not exist`, 'list them with `openbar sm savesets`');
    const walk = readSaveSet({
      info,
      fragments: this.ctx.catalog.fragments(id),
      smId: this.smId,
      readAhead: 1,
      slotSize: Math.max(this.ctx.write.recordSize, MAX_RECORD),
      signal: opts.signal,
      storedOnly: true,
    });
    for await (const _ of walk) {
      /* nothing is yielded: the walk checks */
    }
  }

  async delete(ids: readonly number[]): Promise<void> {
    const infos = ids.map(
      (id) => this.ctx.catalog.query({ id })[0] ?? fail('NOT_FOUND', `save set ${id} does not exist`),
    );
    const byPool = new Map<string, number[]>();
    for (const s of infos) byPool.set(s.pool, [...(byPool.get(s.pool) ?? []), s.id]);
    const txn = (await this.beginTransaction()) as LocalTransaction;
    try {
      for (const [pool, list] of byPool) await txn.addTombstone(pool, list);
      await txn.commit();
    } catch (err) {
      await txn.abort();
      throw err;
    }
    this.ctx.log.info(`deleted save set(s) ${ids.join(', ')}`);
    for (const pool of byPool.keys()) await this.recycle(pool);
  }

  /** Recycles the full volumes of `pool` (every pool when omitted) that no longer hold a save set. */
  async recycle(pool?: string): Promise<RecycledVolume[]> {
    const out: RecycledVolume[] = [];
    for (const p of pool === undefined ? this.ctx.catalog.pools().map((x) => x.name) : [pool]) {
      out.push(...(await recycleVolumes(this.ctx, p, async () => (await this.beginTransaction()) as LocalTransaction)));
    }
    return out;
  }

  async close(): Promise<void> {
    this.ctx.catalog.close();
  }

  // ---- administration ------------------------------------------------------

  async pools(): Promise<PoolInfo[]> {
    const vols = this.ctx.catalog.volumes();
    return this.ctx.catalog.pools().map((p) => {
      const mine = vols.filter((v) => v.pool === p.name);
      return { ...p, volumes: mine.length, bytes: mine.reduce((a, v) => a + v.size, 0) };
    });
  }

  async createPool(p: NewPool): Promise<PoolInfo> {
    checkName('pool', p.name);
    if (this.ctx.catalog.pool(p.name)) fail('CONFLICT', `pool '${p.name}' already exists`);
    // a relative device would mean a different directory from every working directory
    if (p.device !== undefined && !path.isAbsolute(p.device)) {
      fail(
        'USAGE',
        `pool device '${p.device}' is not an absolute path`,
        `give the full path (from this directory it would be ${path.resolve(p.device)})`,
      );
    }
    const device = path.normalize(p.device ?? defaultDevice(this.ctx.home, p.name));
    mkdirPrivate(device);
    this.ctx.catalog.createPool({
      name: p.name,
      device,
      maxVolumeSize: p.maxVolumeSize ?? this.opts.maxVolumeSize,
      retentionDays: p.retentionDays ?? null,
      compression: p.compression ?? null,
    });
    this.ctx.log.info(`pool ${p.name} created on ${device}`);
    return (await this.pools()).find((x) => x.name === p.name)!;
  }

  async volumes(): Promise<VolumeInfo[]> {
    const counts = this.ctx.catalog.volumeSaveSetCounts();
    return this.ctx.catalog.volumes().map((v) => ({ ...v, saveSets: counts.get(v.id) ?? 0 }));
  }

  async labelVolume(poolName: string): Promise<VolumeInfo> {
    const pool =
      this.ctx.catalog.pool(poolName) ??
      fail(
        'NOT_FOUND',
        `pool '${poolName}' does not exist`,
        `pools: ${this.ctx.catalog
          .pools()
          .map((p) => p.name)
          .join(', ')}`,
      );
    const v = this.ctx.catalog.newVolume(pool.name, (label) => volumePath(pool, label), LABEL_SIZE, this.ctx.owner);
    try {
      await createVolumeFile(v.path, {
        label: v.label,
        pool: pool.name,
        sequence: v.sequence,
        created: v.created,
        smId: this.smId,
        maxVolumeSize: pool.maxVolumeSize,
        retentionDays: pool.retentionDays,
        compression: pool.compression,
      });
    } finally {
      this.ctx.catalog.unmount([v.id], this.ctx.owner);
    }
    this.ctx.log.info(`volume ${v.label} labelled in pool ${pool.name} (${v.path})`);
    return { ...v, mountedBy: null, saveSets: 0 };
  }

  async sessions(): Promise<SessionInfo[]> {
    this.ctx.catalog.releaseStaleMounts();
    return this.ctx.catalog.openTxns().map((t) => ({
      txn: t.id,
      owner: t.owner,
      started: t.started,
      updated: t.updated,
      bytes: t.bytes,
      current: t.current,
    }));
  }

  /** Reads every volume the catalog knows and every volume file in the pools' devices. */
  async scan(): Promise<VolumeScan[]> {
    const known = this.ctx.catalog.volumes().map((v) => v.path);
    const files = new Set([...known, ...listVolumeFiles(this.deviceDirs())]);
    const out: VolumeScan[] = [];
    for (const f of [...files].sort()) {
      if (!fs.existsSync(f)) continue;
      out.push(await scanVolume(f, { verifyPayloads: true }));
    }
    return out;
  }

  deviceDirs(): string[] {
    return [
      ...new Set([...this.ctx.catalog.pools().map((p) => p.device), ...subdirs(path.join(this.ctx.home, 'volumes'))]),
    ];
  }

  /** A copy of the catalog, consistent, into `dest` (for the bootstrap). */
  async snapshotCatalog(dest: string): Promise<void> {
    await this.ctx.catalog.snapshotTo(dest);
  }

  async fragmentsOf(id: number): Promise<FragmentRow[]> {
    return this.ctx.catalog.fragments(id);
  }

  poolRows(): PoolRow[] {
    return this.ctx.catalog.pools();
  }
}

/** Replaces the catalog in `home` by one rebuilt from the volumes. */
export async function rebuildLocalCatalog(
  opts: LocalOptions,
  extraDirs: readonly string[] = [],
  seedPools: readonly PoolRow[] = [],
): Promise<RebuildReport> {
  const dirs = new Set<string>([
    ...defaultPoolNames.map((p) => defaultDevice(opts.home, p)),
    ...subdirs(path.join(opts.home, 'volumes')),
    ...seedPools.map((p) => p.device),
    ...extraDirs.map((d) => path.resolve(d)),
  ]);
  return rebuildCatalog({
    home: opts.home,
    catalogFile: catalogPath(opts.home),
    deviceDirs: [...dirs],
    seedPools,
    defaultPools: defaultPools(opts),
    log: opts.log,
  });
}

function defaultPools(opts: LocalOptions): Omit<PoolRow, 'created'>[] {
  return defaultPoolNames.map((name) => ({
    name,
    device: defaultDevice(opts.home, name),
    maxVolumeSize: opts.maxVolumeSize,
    retentionDays: null,
    compression: null,
  }));
}
