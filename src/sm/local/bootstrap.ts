// The storage-manager bootstrap (ISM's server bootstrap): a consistent copy of the
// catalog stored as a save set in the Data pool, and a one-line record saying where
// it is, from which the catalog can be recovered when the home is lost. The save set's
// descriptor is bootstrap-meta.ts's.

import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { appendLineDurableSync } from '../../common/durable-fs.js';
import { fail } from '../../common/errors.js';
import { encodeBootstrap } from './bootstrap-meta.js';
import type { LocalStorageManager } from './local-storage-manager.js';

export interface BootstrapRecord {
  readonly saveset: number;
  readonly volume: string;
  readonly offset: number;
  readonly pool: string;
  readonly time: string;
  readonly smId: string;
}

export function formatBootstrapRecord(r: BootstrapRecord): string {
  return `openbar-bootstrap saveset=${r.saveset} volume=${r.volume} offset=${r.offset} pool=${r.pool} time=${r.time} sm=${r.smId}`;
}

export function parseBootstrapRecord(line: string): BootstrapRecord {
  const fields = new Map<string, string>();
  const words = line.trim().split(/\s+/);
  if (words[0] !== 'openbar-bootstrap')
    fail(
      'USAGE',
      `not a bootstrap record: '${line.trim().slice(0, 60)}'`,
      'it starts with openbar-bootstrap, as `openbar sm bootstrap` printed it',
    );
  for (const w of words.slice(1)) {
    const i = w.indexOf('=');
    if (i > 0) fields.set(w.slice(0, i), w.slice(i + 1));
  }
  const need = (k: string) => fields.get(k) ?? fail('USAGE', `bootstrap record has no ${k}=`);
  const num = (k: string) => {
    const n = Number(need(k));
    if (!Number.isSafeInteger(n) || n < 0) fail('USAGE', `bootstrap record: ${k} is not a number`);
    return n;
  };
  return {
    saveset: num('saveset'),
    volume: need('volume'),
    offset: num('offset'),
    pool: need('pool'),
    time: need('time'),
    smId: need('sm'),
  };
}

export function bootstrapLogPath(home: string): string {
  return path.join(home, 'bootstrap.log');
}

/** Stores the catalog as a bootstrap save set; returns (and logs in HOME/bootstrap.log) its record. */
export async function saveBootstrap(sm: LocalStorageManager, home: string, pool: string): Promise<BootstrapRecord> {
  const tmp = path.join(home, `catalog.bootstrap-${process.pid}.db`);
  try {
    await sm.snapshotCatalog(tmp);
    const txn = await sm.beginTransaction();
    try {
      const w = await txn.createObject(encodeBootstrap(pool, { smId: sm.smId, pools: sm.poolRows() }));
      await pipeline(fs.createReadStream(tmp), w.stream());
      const [info] = await txn.commit();
      const frag = info!;
      const firstVolume = frag.volumes[0]!;
      const offset = (await sm.fragmentsOf(frag.id))[0]!.offset;
      const record: BootstrapRecord = {
        saveset: frag.id,
        volume: firstVolume,
        offset,
        pool,
        time: frag.committed,
        smId: sm.smId,
      };
      appendLineDurableSync(bootstrapLogPath(home), formatBootstrapRecord(record));
      return record;
    } catch (err) {
      await txn.abort();
      throw err;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
