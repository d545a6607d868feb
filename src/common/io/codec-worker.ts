// A codec worker thread: seals (hash, compress, checksum) or opens (decompress, hash)
// one record per message. Buffers travel by transfer, not copy.

import { parentPort } from 'node:worker_threads';
import { openSync, sealSync } from './codec-kernels.js';

interface Job { id: number; op: 's' | 'o'; codec: number; level: number; rawLength: number; data: Uint8Array }

/** A copy in a fresh ArrayBuffer when `u` does not own its memory, so it can be transferred. */
function own(u: Uint8Array): Uint8Array {
  if (u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && !(u.buffer instanceof SharedArrayBuffer)) return u;
  const c = new Uint8Array(u.byteLength);
  c.set(u);
  return c;
}

parentPort!.on('message', (job: Job) => {
  try {
    if (job.op === 's') {
      const r = sealSync(job.codec, job.level, job.data);
      const data = own(r.data);
      parentPort!.postMessage({ id: job.id, codec: r.codec, data, digest: r.digest, crc: r.crc }, data.byteLength ? [data.buffer as ArrayBuffer] : []);
    } else {
      const r = openSync(job.codec, job.data, job.rawLength);
      const raw = own(r.raw);
      parentPort!.postMessage({ id: job.id, data: raw, digest: r.digest }, raw.byteLength ? [raw.buffer as ArrayBuffer] : []);
    }
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
  }
});
