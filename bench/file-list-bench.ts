// node --expose-gc dist/bench/file-list-bench.js — the cost of the file list every backup
// records in its label save set (src/bar/backup/file-list.ts) for a database of
// BENCH_FILES files (default 100,000): bytes a file raw and as stored (zstd), time to
// encode and store it, to read it back, decode and check it, to look every file up, and
// the memory the decoded list holds. Against plain JSON pairs, for scale.

import fs from 'node:fs';
import path from 'node:path';
import { openActivityLog } from '../src/common/activity-log.js';
import { encodeFileList, fileListOfLabel } from '../src/bar/backup/file-list.js';
import { LocalStorageManager } from '../src/sm/local/local-storage-manager.js';
import { readWhole } from '../src/sm/storage-manager.js';
import { makeHome } from '../test/harness/cli.js';

const count = Number(process.env.BENCH_FILES ?? 100_000);

/**
 * Files as a cluster has them: 13 databases, relfilenodes in rising order with random gaps,
 * tables of random size (most small) with their maps, big ones in 1 GB segments.
 */
function files(n: number): [string, number][] {
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const out: [string, number][] = [];
  const rel = new Array<number>(13).fill(16384);
  while (out.length < n) {
    const d = Math.floor(rand() * 13);
    const db = 16384 + d * 4093;
    rel[d]! += 1 + Math.floor(rand() * 40);
    const pages = Math.floor(2 ** (rand() * 18));
    out.push([`${db}/${rel[d]}`, Math.min(pages, 131072) * 8192]);
    if (pages > 8)
      out.push(
        [`${db}/${rel[d]}_fsm`, (3 + Math.floor(pages / 4000)) * 8192],
        [`${db}/${rel[d]}_vm`, (1 + Math.floor(pages / 32672)) * 8192],
      );
    for (let s = 1; s * 131072 < pages; s++)
      out.push([`${db}/${rel[d]}.${s}`, Math.min(131072, pages - s * 131072) * 8192]);
  }
  return out.slice(0, n);
}

/** CPU time of this process since `t0` (a busy machine stretches wall time, not this) */
const ms = (t0: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / 1000;
};
const now = () => process.cpuUsage();
const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function main(): Promise<void> {
  const list = files(count);
  const { dir, home } = makeHome('filelist');
  const sm = LocalStorageManager.open({
    home,
    log: openActivityLog(path.join(home, 'activity.log')),
    maxVolumeSize: 4 * 1024 ** 3,
    write: { compression: 'zstd', compressionLevel: 1, recordSize: 1024 * 1024, bufferCount: 4 },
  });
  try {
    for (let round = 0; round < 5; round++) {
      let t = now();
      const record = encodeFileList(new Map([['pg_default', list]]));
      const content = Buffer.from(JSON.stringify({ labelFiles: [], fileList: record.toString('base64') }), 'utf8');
      const encodeMs = ms(t);
      t = now();
      const txn = await sm.beginTransaction();
      const w = await txn.createObject({
        pool: 'Data',
        server: 'bench',
        name: 'backup_label',
        kind: 'label',
        meta: {},
      });
      await w.write(content);
      await w.close();
      const [info] = await txn.commit();
      const storeMs = ms(t);
      gc();
      const heap0 = process.memoryUsage().heapUsed;
      t = now();
      const lists = fileListOfLabel(await readWhole(sm, info!.id))!;
      const readMs = ms(t);
      gc();
      const heap = process.memoryUsage().heapUsed - heap0;
      const space = lists.get('pg_default')!;
      t = now();
      let found = 0;
      for (const [p] of list) if (space.sizeOf(p) !== undefined) found++;
      const lookMs = ms(t);
      if (found !== list.length) throw new Error(`${found} of ${list.length} found`);
      const json = Buffer.byteLength(JSON.stringify(list));
      process.stdout.write(
        `${count} files (CPU times): record ${(record.length / count).toFixed(2)} B/file raw, label content ${(content.length / count).toFixed(2)} B/file (base64), ` +
          `stored ${(info!.storedBytes / count).toFixed(2)} B/file (zstd 1); plain JSON pairs ${(json / count).toFixed(1)} B/file. ` +
          `encode ${encodeMs.toFixed(0)} ms, store ${storeMs.toFixed(0)} ms, read+decode+check ${readMs.toFixed(0)} ms, ${count} look-ups ${lookMs.toFixed(0)} ms, ` +
          `decoded list ${(heap / 2 ** 20).toFixed(1)} MiB (${(heap / count).toFixed(0)} B/file)\n`,
      );
    }
  } finally {
    await sm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
