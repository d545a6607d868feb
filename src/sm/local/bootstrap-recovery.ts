// Recovers a lost catalog from a bootstrap record: the bootstrap save set is read
// straight from its volume (no catalog needed), its pools and devices seed a rebuild,
// and the volumes then supply every save set written before or after the bootstrap.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fail } from '../../common/errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../common/private-modes.js';
import type { BootstrapRecord } from './bootstrap.js';
import { BOOTSTRAP_KIND, decodeBootstrap } from './bootstrap-meta.js';
import type { SaveSetInfo } from '../storage-manager.js';
import { Catalog, type FragmentRow } from './catalog.js';
import { listVolumeFiles, type RebuildReport } from './catalog-rebuild.js';
import { catalogPath, rebuildLocalCatalog, type LocalOptions } from './local-storage-manager.js';
import { defaultDevice, volumeFileName } from './local-context.js';
import { readSaveSet } from './saveset-reader.js';
import { scanVolume } from './volume-scanner.js';

export async function recoverFromBootstrap(
  opts: LocalOptions,
  record: BootstrapRecord,
  devices: readonly string[],
): Promise<RebuildReport> {
  const file = catalogPath(opts.home);
  if (fs.existsSync(file))
    fail(
      'CONFLICT',
      `catalog ${file} exists`,
      'recovery only replaces a lost catalog; move it away first, or use `openbar sm scan --rebuild`',
    );
  const dirs = [...devices.map((d) => path.resolve(d)), defaultDevice(opts.home, record.pool)];
  const first = dirs.map((d) => path.join(d, volumeFileName(record.volume))).find((f) => fs.existsSync(f));
  if (!first)
    fail(
      'NOT_FOUND',
      `volume ${record.volume} not found in ${dirs.join(', ')}`,
      'give the directory holding it with --device DIR',
    );

  // the bootstrap's parts: the first volume, then any volume of the pool holding a CONTINUE of it
  const fragments: FragmentRow[] = [];
  let begin: SaveSetInfo | undefined;
  for (const f of [first, ...listVolumeFiles([path.dirname(first)]).filter((x) => x !== first)]) {
    const scan = await scanVolume(f, { verifyPayloads: false });
    if (!scan.label || scan.label.smId !== record.smId || scan.label.pool !== record.pool) continue;
    const part = scan.parts.get(record.saveset);
    if (!part) continue;
    fragments.push({
      saveset: record.saveset,
      part: part.part,
      volume: 0,
      label: scan.label.label,
      path: f,
      offset: part.offset,
      length: part.end - part.offset,
      firstSeq: part.firstSeq,
    });
    if (part.begin) {
      const b = part.begin;
      begin = {
        id: b.id,
        pool: b.pool,
        server: b.server,
        name: b.name,
        kind: b.kind,
        level: b.level,
        meta: b.meta,
        created: b.created,
        committed: record.time,
        rawBytes: 0,
        storedBytes: 0,
        records: 0,
        hash: '',
        compression: b.codec as SaveSetInfo['compression'],
        volumes: [],
      };
    }
  }
  if (!begin || begin.kind !== BOOTSTRAP_KIND)
    fail('NOT_FOUND', `save set ${record.saveset} in volume ${record.volume} is not a bootstrap`);
  decodeBootstrap(begin, record.smId);
  fragments.sort((a, b) => a.part - b.part);

  const tmp = `${file}.bootstrap-${process.pid}`;
  try {
    const gen = readSaveSet({ info: begin, fragments, smId: record.smId, readAhead: 4, slotSize: 16 * 1024 * 1024 });
    await fsp.mkdir(opts.home, { recursive: true, mode: PRIVATE_DIR_MODE });
    const out = await fsp.open(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      for await (const chunk of gen) await out.write(chunk);
    } finally {
      await out.close();
    }
    const recovered = Catalog.open(tmp, { create: false });
    const pools = recovered.pools();
    recovered.close();
    opts.log.info(`bootstrap ${record.saveset} read from ${record.volume}: ${pools.length} pool(s)`);
    return await rebuildLocalCatalog(opts, dirs, pools);
  } finally {
    for (const s of ['', '-wal', '-shm']) fs.rmSync(tmp + s, { force: true });
  }
}
