// A transaction of the local storage manager. It mounts volumes as its objects need
// them and keeps them until it ends, so that nothing it wrote can be followed by another
// writer's data. Commit: COMMIT (and CLOSE for full volumes) records, fsync, then the
// catalog transaction: that is the instant the save sets become visible. Abort and
// crash: the volumes are cut back to their committed size (a crash's tail is cut when
// the volume is next mounted), so nothing of the transaction remains.

import { fail, isOpenbarError } from '../../common/errors.js';
import { faultPoint } from '../../common/fault.js';
import { checkDescriptorNames, type ObjectDescriptor, type SaveSetInfo, type Transaction } from '../storage-manager.js';
import type { VolumeCommit } from './catalog.js';
import { catalogBehind, tailBehind, walkTail } from './catalog-currency.js';
import type { LocalContext } from './local-context.js';
import { volumePath } from './local-context.js';
import { MountedVolume } from './mounted-volume.js';
import { LocalObjectWriter } from './object-writer.js';
import { createVolumeFile, markReadOnly, openVolumeForAppend, unlabelledStub } from './volume-file.js';
import { encodeControlRecord, LABEL_SIZE, RecordKind, type VolumeLabel } from './volume-format.js';
import { isoTime } from '../../common/units.js';

export class LocalTransaction implements Transaction {
  private readonly mounts: MountedVolume[] = [];
  private readonly writers = new Set<LocalObjectWriter>();
  private readonly ids: number[] = [];
  private readonly tombstones: { pool: string; ids: number[] }[] = [];
  private state: 'open' | 'committed' | 'aborted' = 'open';
  private bytes = 0;
  /** the session row is first updated a second in: a short transaction never needs it (its row says it is open) */
  private lastProgress = Date.now();

  constructor(
    private readonly ctx: LocalContext,
    readonly id: number,
  ) {}

  async createObject(desc: ObjectDescriptor): Promise<LocalObjectWriter> {
    this.checkOpen();
    checkDescriptorNames(desc);
    const pool = this.ctx.catalog.pool(desc.pool);
    if (!pool)
      fail(
        'NOT_FOUND',
        `pool '${desc.pool}' does not exist`,
        `pools: ${this.ctx.catalog
          .pools()
          .map((p) => p.name)
          .join(', ')}`,
      );
    const compression = desc.compression ?? pool.compression ?? this.ctx.write.compression;
    // the same row in the catalog and in the volume's BEGIN record
    const row = {
      txn: this.id,
      pool: pool.name,
      server: desc.server,
      name: desc.name,
      kind: desc.kind,
      level: desc.level ?? null,
      meta: { ...(desc.meta ?? {}) },
      created: isoTime(),
    };
    const id = this.ctx.catalog.insertSaveSet({ ...row, compression });
    this.ids.push(id);
    const writer = new LocalObjectWriter(this.ctx, this, { id, ...row, codec: compression });
    this.writers.add(writer);
    try {
      await writer.start();
    } catch (err) {
      this.writers.delete(writer);
      throw err;
    }
    return writer;
  }

  /** Records that `ids` are deleted, in a volume of `pool`, as part of this transaction. */
  async addTombstone(pool: string, ids: number[], highWater?: { maxSaveSet: number; maxTxn: number }): Promise<void> {
    this.checkOpen();
    const m = await this.mount(pool);
    await m.append([
      encodeControlRecord(RecordKind.delete, 0, 0, this.id, { ids, time: isoTime(), ...(highWater ?? {}) }),
    ]);
    this.release(m);
    this.tombstones.push({ pool, ids });
  }

  /** A volume of `pool` to append to: one this transaction holds and nobody is writing, or a new mount. */
  async mount(poolName: string): Promise<MountedVolume> {
    const reuse = this.mounts.find((m) => m.row.pool === poolName && !m.busy && !m.full);
    if (reuse) {
      reuse.busy = true;
      return reuse;
    }
    const { catalog } = this.ctx;
    const pool = catalog.pool(poolName)!;
    for (let attempt = 0; ; attempt++) {
      const { volume, isNew } = catalog.mountForAppend(
        poolName,
        this.ctx.owner,
        (label) => volumePath(pool, label),
        LABEL_SIZE,
      );
      try {
        if (isNew || (volume.size === LABEL_SIZE && (await unlabelledStub(volume.path)))) {
          const label: VolumeLabel = {
            label: volume.label,
            pool: poolName,
            sequence: volume.sequence,
            created: volume.created,
            smId: catalog.smId,
            maxVolumeSize: pool.maxVolumeSize,
            retentionDays: pool.retentionDays,
            compression: pool.compression,
          };
          await createVolumeFile(volume.path, label);
          this.ctx.log.info(`volume ${volume.label} labelled in pool ${poolName} (${volume.path})`);
        }
        const { fh, tornBytes } = await openVolumeForAppend(
          volume.path,
          { smId: catalog.smId, pool: poolName, label: volume.label },
          volume.size,
          (fd, from, to) => {
            // cut only a crashed writer's leftovers, never what a newer catalog committed
            const why = tailBehind(volume.label, walkTail(fd, from, to), catalog.highWater());
            if (why) catalogBehind(catalog.file, why);
          },
        );
        if (tornBytes > 0)
          this.ctx.log.warn(
            `volume ${volume.label}: discarded ${tornBytes} bytes of an interrupted write after offset ${volume.size}`,
          );
        const m = new MountedVolume(volume, fh, volume.size, pool.maxVolumeSize);
        m.busy = true;
        this.mounts.push(m);
        return m;
      } catch (err) {
        if (isOpenbarError(err, 'CATALOG_BEHIND') || isOpenbarError(err, 'CONFIG')) {
          catalog.unmount([volume.id], this.ctx.owner); // the volume is sound: the catalog is not
          throw err;
        }
        // a volume we cannot use is set aside and never written; try the next one
        catalog.setVolumeState(volume.id, 'damaged');
        catalog.unmount([volume.id], this.ctx.owner);
        this.ctx.log.error(`volume ${volume.label} set aside as damaged: ${(err as Error).message}`);
        if (attempt >= 2) throw err;
      }
    }
  }

  release(m: MountedVolume): void {
    m.busy = false;
  }

  writerClosed(w: LocalObjectWriter): void {
    this.writers.delete(w);
  }

  /** Called by writers as bytes arrive; updates the catalog's session row about once a second. */
  progress(bytes: number, current: string): void {
    this.bytes += bytes;
    const now = Date.now();
    if (now - this.lastProgress >= 1000) {
      this.lastProgress = now;
      this.ctx.catalog.txnProgress(this.id, this.bytes, current);
    }
  }

  async commit(): Promise<SaveSetInfo[]> {
    this.checkOpen();
    if (this.writers.size > 0) {
      const open = [...this.writers].map((w) => w.id).join(', ');
      fail('USAGE', `transaction ${this.id}: save set(s) ${open} not closed before commit`);
    }
    try {
      const commitRecord = encodeControlRecord(RecordKind.commit, 0, 0, this.id, {
        txn: this.id,
        ids: this.ids,
        time: isoTime(),
      });
      const updates: VolumeCommit[] = [];
      faultPoint('sm-before-commit');
      for (const m of this.mounts) {
        if (m.appended > 0) {
          await m.append([commitRecord]);
          if (m.full)
            await m.append([encodeControlRecord(RecordKind.close, 0, 0, this.id, { label: m.label, time: isoTime() })]);
          await m.sync();
        }
        updates.push({ id: m.id, size: m.size, full: m.full && m.appended > 0 });
      }
      faultPoint('sm-before-catalog-commit');
      this.ctx.catalog.commitTxn(this.id, this.ctx.owner, updates);
      faultPoint('sm-after-catalog-commit');
      for (const t of this.tombstones) this.ctx.catalog.deleteSaveSets(t.ids);
      this.state = 'committed';
    } catch (err) {
      await this.abort().catch(() => {});
      throw err;
    } finally {
      await this.closeFiles();
    }
    for (const m of this.mounts) {
      if (!m.full || m.appended === 0) continue;
      markReadOnly(m.row.path);
      this.ctx.log.info(`volume ${m.label} full and closed (${m.size} bytes)`);
    }
    return this.ctx.catalog.query({ txn: this.id });
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    for (const w of this.writers) w.abandon();
    this.writers.clear();
    for (const m of this.mounts) {
      try {
        if (m.appended > 0) {
          await m.fh.truncate(m.committedSize);
          await m.fh.sync();
        }
      } catch (err) {
        this.ctx.log.error(
          `volume ${m.label}: could not cut back to ${m.committedSize} bytes on abort (${(err as Error).message}); the next mount will`,
        );
      }
    }
    await this.closeFiles();
    this.ctx.catalog.abortTxn(
      this.id,
      this.ctx.owner,
      this.mounts.map((m) => m.id),
    );
  }

  private async closeFiles(): Promise<void> {
    await Promise.all(this.mounts.map((m) => m.fh.close().catch(() => {})));
  }

  private checkOpen(): void {
    if (this.state !== 'open') fail('USAGE', `transaction ${this.id} is already ${this.state}`);
  }
}
