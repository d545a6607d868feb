// Volume recycling (ISM's recycle): a full volume that no longer holds any save set
// is emptied back to its label and reopened for appending. It must never let a
// deletion be forgotten: tombstones it holds for save sets whose data lies in volumes
// that stay are first written again into the pool's current volume, with the id
// high-water marks, so a catalog rebuild neither resurrects a deleted set nor reuses an id.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { PRIVATE_FILE_MODE } from '../../common/private-modes.js';
import type { LocalContext } from './local-context.js';
import type { LocalTransaction } from './local-transaction.js';
import type { VolumeRow } from './catalog.js';
import { encodeLabel, LABEL_SIZE } from './volume-format.js';
import { readLabel, checkLabel } from './volume-file.js';
import { scanVolume } from './volume-scanner.js';
import { isoTime } from '../../common/units.js';

export interface RecycledVolume {
  readonly label: string;
  readonly pool: string;
  readonly freedBytes: number;
}

export async function recycleVolumes(
  ctx: LocalContext,
  pool: string,
  begin: () => Promise<LocalTransaction>,
): Promise<RecycledVolume[]> {
  const candidates = ctx.catalog.recyclableVolumes(pool);
  if (candidates.length === 0) return [];
  const leaving = new Set(candidates.map((v) => v.id));
  const carry = new Set<number>();
  for (const v of candidates) {
    if (!fs.existsSync(v.path)) continue;
    const scan = await scanVolume(v.path, { verifyPayloads: false });
    const ids = scan.deletes.flatMap((d) => d.ids);
    const where = ctx.catalog.deletedLocations(ids);
    // unknown location: carry it, to be safe
    for (const id of ids) if (!(where.get(id) ?? [-1]).every((vol) => leaving.has(vol))) carry.add(id);
  }
  const txn = await begin();
  try {
    await txn.addTombstone(
      pool,
      [...carry].sort((a, b) => a - b),
      ctx.catalog.highWater(),
    );
    await txn.commit();
  } catch (err) {
    await txn.abort();
    throw err;
  }
  const out: RecycledVolume[] = [];
  for (const v of candidates) out.push(await emptyVolume(ctx, v));
  ctx.log.info(
    `pool ${pool}: recycled volume(s) ${out.map((r) => r.label).join(', ')} (${out.reduce((a, r) => a + r.freedBytes, 0)} bytes freed${carry.size ? `, ${carry.size} tombstone(s) carried over` : ''})`,
  );
  return out;
}

/** Cuts the volume back to its label (rewritten with a new date) and reopens it in the catalog. */
async function emptyVolume(ctx: LocalContext, v: VolumeRow): Promise<RecycledVolume> {
  ctx.catalog.setVolumeState(v.id, 'recyclable');
  const created = isoTime();
  let freedBytes = 0;
  if (fs.existsSync(v.path)) {
    fs.chmodSync(v.path, PRIVATE_FILE_MODE);
    const fh = await fsp.open(v.path, 'r+');
    try {
      const label = await readLabel(fh, v.path);
      checkLabel(label, { smId: ctx.catalog.smId, pool: v.pool, label: v.label }, v.path);
      freedBytes = (await fh.stat()).size - LABEL_SIZE;
      await fh.truncate(LABEL_SIZE);
      await fh.write(encodeLabel({ ...label, created }), 0, LABEL_SIZE, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  ctx.catalog.reopenRecycled(v.id, created, LABEL_SIZE);
  return { label: v.label, pool: v.pool, freedBytes };
}
