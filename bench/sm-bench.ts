// npm run bench:sm — 1 GiB through the storage manager with each compression, beside
// the raw sequential copy rate of the same disk, measured in the same run.
// Target: with no compression, store and extract reach ≥ 80% of the raw copy rate,
// with peak memory bounded by the transfer buffers, not by the data.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dropCaches, fmt, markdownTable, mbps, openbarBin, timed, writeReport } from './harness.js';

const size = Number(process.env.BENCH_SM_BYTES ?? 1024 ** 3);
const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? '/var/tmp', 'openbar-smbench-'));

/** Table-like data: rows of numbers and padding, compressible about as well as heap pages. */
function writeSource(file: string): void {
  const fd = fs.openSync(file, 'w');
  const chunk = 8 << 20;
  let i = 0;
  for (let done = 0; done < size; done += chunk) {
    const rnd = randomBytes(chunk / 4);
    const lines: string[] = [];
    let len = 0;
    for (let k = 0; len < chunk; k++) {
      const l = `${i++}\t${rnd.readUInt32LE((k * 4) % (rnd.length - 4))}\t${rnd.toString('hex', (k * 7) % (rnd.length - 16), ((k * 7) % (rnd.length - 16)) + 8)}\tcustomer-${k % 1000}\t                    \n`;
      lines.push(l);
      len += l.length;
    }
    fs.writeSync(fd, Buffer.from(lines.join('')).subarray(0, Math.min(chunk, size - done)));
  }
  fs.closeSync(fd);
}

async function main(): Promise<void> {
  const src = path.join(dir, 'source.dat');
  process.stdout.write(`generating ${size} bytes in ${dir} …\n`);
  writeSource(src);
  const dropped = dropCaches();

  // this machine's disk speed varies from run to run: every figure is the median of three
  const reps = Number(process.env.BENCH_REPS ?? 3);
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  // raw: a plain sequential copy of the same file, synced
  const rawMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    dropCaches();
    rawMs.push((await timed('sh', ['-c', `cp ${src} ${dir}/copy.dat && sync ${dir}/copy.dat`])).ms);
    fs.rmSync(path.join(dir, 'copy.dat'));
  }
  const rawRate = mbps(size, median(rawMs));

  const rows: (string | number)[][] = [];
  const results: Record<
    string,
    { store: number; extract: number; ratio: number; storeRss: number; extractRss: number }
  > = {};
  for (const compression of ['none', 'lz4', 'zstd']) {
    const home = path.join(dir, `home-${compression}`);
    const config = path.join(dir, `${compression}.conf`);
    const init = await timed(process.execPath, [
      openbarBin,
      '--config',
      config,
      'init',
      '--home',
      home,
      '--server',
      'bench',
    ]);
    if (init.status !== 0) throw new Error(init.stderr);
    const stores: { ms: number; peakRssKiB: number }[] = [];
    const extracts: { ms: number; peakRssKiB: number }[] = [];
    let info = { id: 0, storedBytes: 0 };
    for (let i = 0; i < reps; i++) {
      dropCaches();
      const store = await timed(process.execPath, [
        openbarBin,
        '--config',
        config,
        'sm',
        'store',
        '--json',
        '--pool',
        'Data',
        '--name',
        'bench',
        '--compression',
        compression,
        src,
      ]);
      if (store.status !== 0) throw new Error(store.stderr);
      info = JSON.parse(store.stdout) as { id: number; storedBytes: number };
      stores.push(store);
      dropCaches();
      const out = path.join(dir, 'extract.dat');
      const extractRun = await timed(process.execPath, [
        openbarBin,
        '--config',
        config,
        'sm',
        'extract',
        String(info.id),
        '--out',
        out,
      ]);
      if (extractRun.status !== 0) throw new Error(extractRun.stderr);
      const synced = await timed('sync', [out]);
      extracts.push({ ms: extractRun.ms + synced.ms, peakRssKiB: extractRun.peakRssKiB });
      fs.rmSync(out);
    }
    fs.rmSync(home, { recursive: true, force: true });
    const store = { ms: median(stores.map((x) => x.ms)), peakRssKiB: Math.max(...stores.map((x) => x.peakRssKiB)) };
    const extract = {
      ms: median(extracts.map((x) => x.ms)),
      peakRssKiB: Math.max(...extracts.map((x) => x.peakRssKiB)),
    };
    const s = mbps(size, store.ms);
    const e = mbps(size, extract.ms);
    results[compression] = {
      store: s,
      extract: e,
      ratio: info.storedBytes / size,
      storeRss: store.peakRssKiB,
      extractRss: extract.peakRssKiB,
    };
    rows.push([
      compression,
      fmt(s),
      `${fmt((s / rawRate) * 100, 0)}%`,
      fmt(e),
      `${fmt((e / rawRate) * 100, 0)}%`,
      fmt(info.storedBytes / size, 3),
      `${fmt(store.peakRssKiB / 1024, 0)} / ${fmt(extract.peakRssKiB / 1024, 0)}`,
    ]);
    process.stdout.write(`${compression}: store ${fmt(s)} MB/s, extract ${fmt(e)} MB/s\n`);
  }
  fs.rmSync(dir, { recursive: true, force: true });

  const report = [
    `# openbar storage manager benchmark`,
    '',
    `${new Date().toISOString()} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${fmt(os.totalmem() / 1024 ** 3, 0)} GiB RAM, data in ${path.dirname(dir)}.`,
    `${fmt(size / 1024 ** 3, 2)} GiB of table-like data; page cache ${dropped ? 'dropped before every run' : 'NOT dropped (no permission)'}; every run ends with its output synced; each figure the median of ${reps} runs (raw copy: ${rawMs.map((m) => fmt(mbps(size, m), 0)).join(', ')} MB/s).`,
    '',
    `Raw sequential copy (cp + sync) of the same file: **${fmt(rawRate)} MB/s**.`,
    '',
    markdownTable(
      ['compression', 'store MB/s', 'of raw', 'extract MB/s', 'of raw', 'stored/raw', 'peak RSS MiB store / extract'],
      rows,
    ),
    '',
    `Target: with no compression, store and extract ≥ 80% of the raw copy rate: store ${fmt((results.none!.store / rawRate) * 100, 0)}%, extract ${fmt((results.none!.extract / rawRate) * 100, 0)}%.`,
    '',
  ].join('\n');
  const file = writeReport('sm', report);
  process.stdout.write(`\n${report}\nreport written to ${file}\n`);
}

await main();
