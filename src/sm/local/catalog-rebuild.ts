// Rebuilds the catalog from the volumes alone (`sm scan --rebuild`): every committed,
// undeleted, complete save set is found again with the same id, name, size and hash.
// The new catalog is written beside the old one and renamed into place at the end.

import fs from 'node:fs';
import path from 'node:path';
import type { ActivityLog } from '../../common/activity-log.js';
import { fsyncDirSync } from '../../common/durable-fs.js';
import { Catalog, type PoolRow } from './catalog.js';
import { scanVolume, type PartSeen, type VolumeScan } from './volume-scanner.js';
import { LABEL_SIZE } from './volume-format.js';
import { namesIn } from './volume-dirs.js';
import type { Compression } from '../storage-manager.js';
import { isoTime } from '../../common/units.js';

export interface RebuildReport {
  readonly smId: string;
  readonly volumes: number;
  readonly saveSets: number;
  readonly skippedVolumes: { file: string; why: string }[];
  readonly incomplete: { id: number; why: string }[];
  readonly tornTails: { label: string; bytes: number }[];
}

export interface RebuildInput {
  readonly home: string;
  readonly catalogFile: string;
  readonly deviceDirs: readonly string[];
  /** pool settings to keep (e.g. from a recovered bootstrap), by name */
  readonly seedPools?: readonly PoolRow[];
  readonly defaultPools: readonly Omit<PoolRow, 'created'>[];
  readonly log: ActivityLog;
}

export function listVolumeFiles(dirs: readonly string[]): string[] {
  const files = new Set<string>();
  for (const dir of dirs) {
    for (const n of namesIn(dir)) if (n.endsWith('.vol')) files.add(path.resolve(dir, n));
  }
  return [...files].sort();
}

export async function rebuildCatalog(input: RebuildInput): Promise<RebuildReport> {
  const files = listVolumeFiles(input.deviceDirs);
  const scans: VolumeScan[] = [];
  const skippedVolumes: { file: string; why: string }[] = [];
  for (const f of files) {
    const s = await scanVolume(f, { verifyPayloads: false });
    if (!s.label) skippedVolumes.push({ file: f, why: s.labelError ?? 'no label' });
    else scans.push(s);
  }
  // the storage manager these volumes belong to: the one most of them name
  const votes = new Map<string, number>();
  for (const s of scans) votes.set(s.label!.smId, (votes.get(s.label!.smId) ?? 0) + 1);
  const smId = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const mine = scans.filter((s) => {
    if (s.label!.smId === smId) return true;
    skippedVolumes.push({ file: s.file, why: `belongs to another storage manager (${s.label!.smId})` });
    return false;
  });

  const tmp = `${input.catalogFile}.rebuild-${process.pid}`;
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(tmp + suffix, { force: true });
  const catalog = Catalog.open(tmp, { create: true, ...(smId ? { smId } : {}) });
  const incomplete: { id: number; why: string }[] = [];
  const tornTails: { label: string; bytes: number }[] = [];
  let saveSets = 0;
  try {
    catalog.inTransaction(() => {
      // pools: seeded settings win; otherwise those of the newest label in the pool
      const pools = new Map<string, Omit<PoolRow, 'created'> & { created?: string }>();
      for (const p of input.defaultPools) pools.set(p.name, p);
      const newest = [...mine].sort((a, b) => a.label!.sequence - b.label!.sequence);
      for (const s of newest) {
        const l = s.label!;
        pools.set(l.pool, {
          name: l.pool,
          device: path.dirname(s.file),
          maxVolumeSize: l.maxVolumeSize,
          retentionDays: l.retentionDays,
          compression: (l.compression as Compression | null) ?? null,
        });
      }
      // a seeded device recorded relative (never written now) gives way to the default one
      const seedDevice = (p: PoolRow) =>
        path.isAbsolute(p.device) ? p.device : path.join(input.home, 'volumes', p.name);
      for (const p of input.seedPools ?? [])
        pools.set(p.name, { ...p, device: pools.get(p.name)?.device ?? seedDevice(p) });
      for (const p of pools.values()) catalog.createPool(p);

      const committed = new Map<number, string>();
      const committedTxns = new Set<number>();
      let maxTxn = 0;
      let maxId = 0;
      for (const s of mine) {
        for (const c of s.commits) {
          committedTxns.add(c.txn);
          maxTxn = Math.max(maxTxn, c.txn);
          for (const id of c.ids) committed.set(id, c.time);
        }
      }
      const deleted = new Map<number, string>();
      for (const s of mine) {
        for (const d of s.deletes) {
          if (!committedTxns.has(d.txn)) continue;
          for (const id of d.ids) deleted.set(id, d.time);
          // high-water marks kept by recycling: ids of sets whose volumes were recycled stay used
          maxId = Math.max(maxId, d.maxSaveSet ?? 0);
          maxTxn = Math.max(maxTxn, d.maxTxn ?? 0);
        }
      }

      const volumeIds = new Map<VolumeScan, number>();
      for (const s of mine) {
        const l = s.label!;
        const damaged = s.stop !== undefined && !s.stop.short;
        const state = damaged ? 'damaged' : s.closed ? 'full' : 'open';
        const size = Math.max(LABEL_SIZE, s.committedEnd);
        if (s.fileSize > size && !s.closed) tornTails.push({ label: l.label, bytes: s.fileSize - size });
        volumeIds.set(
          s,
          catalog.insertVolumeRow({
            label: l.label,
            pool: l.pool,
            sequence: l.sequence,
            path: s.file,
            state,
            created: l.created,
            closed: s.closed ? isoTime() : null,
            size,
          }),
        );
      }

      const parts = new Map<number, { scan: VolumeScan; part: PartSeen }[]>();
      for (const s of mine) {
        for (const p of s.parts.values()) {
          maxId = Math.max(maxId, p.id);
          if (p.begin) maxTxn = Math.max(maxTxn, p.begin.txn);
          const list = parts.get(p.id) ?? [];
          list.push({ scan: s, part: p });
          parts.set(p.id, list);
        }
      }
      for (const id of deleted.keys()) maxId = Math.max(maxId, id);
      // every id any whole record carries, uncommitted tails included: the catalog's check
      // against its volumes (catalog-currency.ts) reads those tails too
      for (const s of mine) {
        maxId = Math.max(maxId, s.maxSaveSet);
        maxTxn = Math.max(maxTxn, s.maxTxn);
      }
      for (const id of deleted.keys()) catalog.recordDeleted(id, deleted.get(id)!);

      for (const [id, list] of [...parts.entries()].sort((a, b) => a[0] - b[0])) {
        const time = committed.get(id);
        if (deleted.has(id)) for (const x of list) catalog.recordDeletedVolume(id, volumeIds.get(x.scan)!);
        if (time === undefined || deleted.has(id)) continue;
        list.sort((a, b) => a.part.part - b.part.part);
        const begin = list[0]!.part.begin;
        const last = list[list.length - 1]!.part;
        const gap = list.findIndex((x, i) => x.part.part !== i);
        if (!begin) {
          incomplete.push({ id, why: 'its BEGIN record was not found' });
          continue;
        }
        if (gap >= 0) {
          incomplete.push({ id, why: `part ${gap} was not found` });
          continue;
        }
        if (!last.endRecord) {
          incomplete.push({ id, why: 'its END record was not found' });
          continue;
        }
        const e = last.endRecord;
        catalog.insertCommittedSaveSet(
          id,
          begin.txn,
          {
            pool: begin.pool,
            server: begin.server,
            name: begin.name,
            kind: begin.kind,
            level: begin.level,
            meta: begin.meta,
            created: begin.created,
            compression: begin.codec as Compression,
          },
          { rawBytes: e.rawBytes, storedBytes: e.storedBytes, records: e.records, hash: e.hash },
          time,
        );
        for (const x of list) {
          catalog.addFragment({
            saveset: id,
            part: x.part.part,
            volume: volumeIds.get(x.scan)!,
            offset: x.part.offset,
            length: x.part.end - x.part.offset,
            firstSeq: x.part.firstSeq,
          });
        }
        saveSets++;
      }
      catalog.bumpSequences(maxId, maxTxn);
    });
  } finally {
    catalog.close();
  }
  // swap: the old catalog (if any) is kept aside, never silently lost
  if (fs.existsSync(input.catalogFile)) {
    const aside = `${input.catalogFile}.replaced-${isoTime().replace(/[:.]/g, '-')}`;
    fs.renameSync(input.catalogFile, aside);
    input.log.info(`previous catalog kept as ${aside}`);
  }
  for (const suffix of ['-wal', '-shm']) fs.rmSync(input.catalogFile + suffix, { force: true });
  fs.renameSync(tmp, input.catalogFile);
  fsyncDirSync(path.dirname(input.catalogFile));
  const report: RebuildReport = {
    smId: smId ?? '',
    volumes: mine.length,
    saveSets,
    skippedVolumes,
    incomplete,
    tornTails,
  };
  input.log.info(
    `catalog rebuilt from ${mine.length} volume(s): ${saveSets} save set(s)${incomplete.length ? `, ${incomplete.length} incomplete skipped` : ''}`,
  );
  return report;
}
