// A codec worker thread: compresses or decompresses one buffer per message.

import { parentPort } from 'node:worker_threads';
import { compressSync, decompressSync } from './codec-kernels.js';

interface Job { id: number; op: 'c' | 'd'; codec: number; level: number; rawLength: number; data: Uint8Array }

parentPort!.on('message', (job: Job) => {
  try {
    const out = job.op === 'c'
      ? compressSync(job.codec, job.level, job.data)
      : decompressSync(job.codec, job.data, job.rawLength);
    parentPort!.postMessage({ id: job.id, data: out });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
  }
});
