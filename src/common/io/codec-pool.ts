// Runs compression and decompression on a small pool of worker threads, so that
// several records of a stream (and several streams) compress in parallel while the
// main thread checksums and writes. Workers keep the process alive only while busy.

import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { codecIds, compressSync, decompressSync } from './codec-kernels.js';

interface Pending { resolve: (b: Uint8Array) => void; reject: (e: Error) => void }

class CodecWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();

  constructor() {
    this.worker = new Worker(new URL('./codec-worker.js', import.meta.url));
    this.worker.unref();
    // an unref before the worker is online does not stick: repeat it once it is
    this.worker.on('online', () => { if (this.pending.size === 0) this.worker.unref(); });
    this.worker.on('message', (msg: { id: number; data?: Uint8Array; error?: string; code?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      if (msg.error !== undefined) p.reject(Object.assign(new Error(msg.error), { code: msg.code ?? 'FORMAT' }));
      else p.resolve(msg.data!);
    });
    this.worker.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }
}

let workers: CodecWorker[] | undefined;
let nextId = 1;
let rr = 0;

function pool(): CodecWorker[] {
  if (!workers) {
    const n = Math.max(1, Math.min(4, os.availableParallelism()));
    workers = Array.from({ length: n }, () => new CodecWorker());
  }
  return workers;
}

function run(op: 'c' | 'd', codec: number, level: number, rawLength: number, data: Uint8Array): Promise<Uint8Array> {
  const all = pool();
  // least loaded worker, round robin among equals
  let pick = all[rr++ % all.length]!;
  for (const w of all) if (w.pending.size < pick.pending.size) pick = w;
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pick.pending.set(id, { resolve, reject });
    if (pick.pending.size === 1) pick.worker.ref();
    pick.worker.postMessage({ id, op, codec, level, rawLength, data });
  });
}

/**
 * Work below this many bytes per process is done in-thread: starting the worker threads
 * costs more than compressing a WAL segment, and archive_command runs once per segment.
 */
const IN_THREAD_BYTES = 48 * 1024 * 1024;
let inThreadBytes = 0;

/** Compressed bytes, or the input itself when compression would not make it smaller. */
export async function compress(codec: number, level: number, data: Uint8Array): Promise<{ codec: number; data: Uint8Array }> {
  if (codec === codecIds.none || data.byteLength === 0) return { codec: codecIds.none, data };
  let out: Uint8Array;
  if (!workers && inThreadBytes + data.byteLength <= IN_THREAD_BYTES) {
    inThreadBytes += data.byteLength;
    out = compressSync(codec, level, data);
  } else {
    out = await run('c', codec, level, data.byteLength, data);
  }
  return out.byteLength < data.byteLength ? { codec, data: out } : { codec: codecIds.none, data };
}

export async function decompress(codec: number, data: Uint8Array, rawLength: number): Promise<Uint8Array> {
  if (codec === codecIds.none) return decompressSync(codec, data, rawLength);
  if (!workers && inThreadBytes + rawLength <= IN_THREAD_BYTES) {
    inThreadBytes += rawLength;
    return decompressSync(codec, data, rawLength);
  }
  return run('d', codec, 0, rawLength, data);
}

/** In-thread variants for small payloads where a worker round trip costs more than the work. */
export { compressSync, decompressSync };

export async function shutdownCodecPool(): Promise<void> {
  const w = workers;
  workers = undefined;
  if (w) await Promise.all(w.map((x) => x.worker.terminate()));
}
