// Runs record sealing (SHA-256, compression, CRC-32) and opening (decompression,
// SHA-256) on a small pool of worker threads, so several records of a stream, and
// several streams, are processed in parallel while the main thread reads and writes.
// Workers keep the process alive only while busy. Small jobs run in-thread: starting the
// workers costs more than sealing a WAL segment, and archive_command runs once per segment.

import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { openSync, sealSync, type Sealed } from './codec-kernels.js';

interface Reply { id: number; data?: Uint8Array; digest?: Uint8Array; codec?: number; crc?: number; error?: string; code?: string }
interface Pending { resolve: (r: Reply) => void; reject: (e: Error) => void }

class CodecWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();

  constructor() {
    this.worker = new Worker(new URL('./codec-worker.js', import.meta.url));
    this.worker.unref();
    // an unref before the worker is online does not stick: repeat it once it is
    this.worker.on('online', () => { if (this.pending.size === 0) this.worker.unref(); });
    this.worker.on('message', (msg: Reply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      if (msg.error !== undefined) p.reject(Object.assign(new Error(msg.error), { code: msg.code ?? 'FORMAT' }));
      else p.resolve(msg);
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

function run(op: 's' | 'o', codec: number, level: number, rawLength: number, data: Uint8Array): Promise<Reply> {
  const all = pool();
  let pick = all[rr++ % all.length]!;
  for (const w of all) if (w.pending.size < pick.pending.size) pick = w;
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pick.pending.set(id, { resolve, reject });
    if (pick.pending.size === 1) pick.worker.ref();
    // a buffer that owns its whole memory is moved, not copied, to the worker
    const movable = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.byteLength > 0 && !(data.buffer instanceof SharedArrayBuffer);
    pick.worker.postMessage({ id, op, codec, level, rawLength, data }, movable ? [data.buffer as ArrayBuffer] : []);
  });
}

const IN_THREAD_BYTES = 48 * 1024 * 1024;
let inThreadBytes = 0;

function inThread(bytes: number): boolean {
  if (workers || inThreadBytes + bytes > IN_THREAD_BYTES) return false;
  inThreadBytes += bytes;
  return true;
}

/** Seals a raw record. `raw` may be moved to a worker: use only what this returns. */
export async function seal(codec: number, level: number, raw: Uint8Array): Promise<Sealed> {
  if (inThread(raw.byteLength)) return sealSync(codec, level, raw);
  const r = await run('s', codec, level, raw.byteLength, raw);
  return { codec: r.codec!, data: r.data!, digest: r.digest!, crc: r.crc! };
}

/** Opens a stored payload: its raw bytes and their SHA-256. */
export async function open(codec: number, data: Uint8Array, rawLength: number): Promise<{ raw: Uint8Array; digest: Uint8Array }> {
  if (inThread(rawLength)) return openSync(codec, data, rawLength);
  const r = await run('o', codec, 0, rawLength, data);
  return { raw: r.data!, digest: r.digest! };
}

export async function shutdownCodecPool(): Promise<void> {
  const w = workers;
  workers = undefined;
  if (w) await Promise.all(w.map((x) => x.worker.terminate()));
}
