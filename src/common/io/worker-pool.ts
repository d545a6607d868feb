// One pool of worker threads for CPU work (record sealing, page checks): a task names a
// kernel module and a function in it; buffers travel by transfer, not copy. Sized to the
// cores, shared by every stream of the process. Workers keep the process alive only
// while they have work.

import os from 'node:os';
import { Worker } from 'node:worker_threads';

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
  code?: string;
}
interface Pending {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
}

class PoolWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** other work the thread does for its lender (an adopted worker) */
  private holds = 0;

  /** `lent`: a running thread whose script also serves pool tasks (it imports pool-worker.js) */
  constructor(lent?: Worker, held = 0) {
    this.worker = lent ?? new Worker(new URL('./pool-worker.js', import.meta.url));
    this.holds = held;
    this.keepAlive();
    // an unref before the worker is online does not stick: repeat it once it is
    this.worker.on('online', () => this.keepAlive());
    this.worker.on('message', (msg: Reply) => {
      if (typeof msg?.id !== 'number') return; // the lender's own messages
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      this.keepAlive();
      if (msg.error !== undefined) p.reject(Object.assign(new Error(msg.error), { code: msg.code ?? 'INTERNAL' }));
      else p.resolve(msg.result);
    });
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => {
      fail(new Error('a worker thread ended'));
      workers = workers?.filter((w) => w !== this); // the next task goes to another (or a new) one
      if (workers?.length === 0) workers = undefined;
    });
  }

  /** The thread keeps the process alive only while it has work (or its lender needs it). */
  keepAlive(): void {
    if (this.pending.size + this.holds > 0) this.worker.ref();
    else this.worker.unref();
  }

  release(): void {
    this.holds = Math.max(0, this.holds - 1);
    this.keepAlive();
  }
}

let workers: PoolWorker[] | undefined;
let nextId = 1;
let rr = 0;

const IN_THREAD_BYTES = 48 * 1024 * 1024;
let inThreadBytes = 0;

/**
 * Jobs this small run in-thread always: sealing 64 KiB takes 20-60 µs here, a round trip
 * to a worker 80-100 µs, more behind its queue, and a worker still starting (a level 1's
 * first, while it reads its WAL summaries of ~20 KiB) answers only once it is up.
 */
const SMALL_JOB_BYTES = 64 * 1024;

/**
 * Whether work on `bytes` should run in-thread: small jobs always; others until the
 * process has handled 48 MiB, unless the pool already runs. Starting the workers costs
 * more than a small job (such as archive_command storing one WAL segment).
 */
export function preferInThread(bytes: number): boolean {
  if (bytes <= SMALL_JOB_BYTES) return true;
  if (workers !== undefined || inThreadBytes + bytes > IN_THREAD_BYTES) return false;
  inThreadBytes += bytes;
  return true;
}

/** one worker per core, up to four */
const MAX_WORKERS = Math.max(1, Math.min(4, os.availableParallelism()));

function pool(): PoolWorker[] {
  workers ??= Array.from({ length: MAX_WORKERS }, () => new PoolWorker());
  return workers;
}

/**
 * Starts the workers the pool lacks now and has each load `kernel`, for a job known to be
 * large: they come up while the caller waits on other things, and no work of the job runs
 * in-thread. Threads lent to the pool (adoptWorker) count as workers.
 */
export function warmPool(kernel: URL): void {
  const have = workers?.length ?? 0;
  workers ??= [];
  for (let i = have; i < MAX_WORKERS; i++) {
    const w = new PoolWorker();
    workers.push(w);
    post(w, kernel, '', []).catch(() => {}); // a failing worker fails its next real task
  }
}

/** A thread lent to the pool: `warm` has it load the kernel, `release` says the lender's work on it is over. */
export interface PoolLoan {
  warm(): void;
  release(): void;
}

/**
 * Takes a thread started for other work into the pool, instead of the pool starting one of
 * its own (each costs a core some 100 ms to start). Its script must serve pool tasks too
 * (import pool-worker.js); tasks queue behind its own messages. The lender keeps it alive
 * until `release`, and must not terminate it.
 */
export function adoptWorker(worker: Worker, kernel: URL): PoolLoan {
  const w = new PoolWorker(worker, 1);
  (workers ??= []).push(w);
  let released = false;
  return {
    warm: () => {
      post(w, kernel, '', []).catch(() => {});
    },
    release: () => {
      if (!released) {
        released = true;
        w.release();
      }
    },
  };
}

/** True when `u` owns all of its memory, so it can be moved to another thread. */
export function movable(u: Uint8Array): boolean {
  return (
    u.byteLength > 0 &&
    u.byteOffset === 0 &&
    u.byteLength === u.buffer.byteLength &&
    !(u.buffer instanceof SharedArrayBuffer)
  );
}

/**
 * Runs `kernel`'s export `fn` on a worker. Buffers among `args` that own their memory are
 * moved (the caller must not use them again); views into larger buffers are copied first,
 * since posting a view would clone all of the memory behind it.
 */
export function runTask<T>(kernel: URL, fn: string, rawArgs: readonly unknown[]): Promise<T> {
  const all = pool();
  let pick = all[rr++ % all.length]!;
  for (const w of all) if (w.pending.size < pick.pending.size) pick = w;
  return post<T>(pick, kernel, fn, rawArgs);
}

function post<T>(w: PoolWorker, kernel: URL, fn: string, rawArgs: readonly unknown[]): Promise<T> {
  const id = nextId++;
  const args = rawArgs.map((a) => (a instanceof Uint8Array && a.byteLength > 0 && !movable(a) ? new Uint8Array(a) : a));
  const transfer = args
    .filter((a): a is Uint8Array => a instanceof Uint8Array && movable(a))
    .map((a) => a.buffer as ArrayBuffer);
  return new Promise<T>((resolve, reject) => {
    w.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
    w.keepAlive();
    w.worker.postMessage({ id, kernel: kernel.href, fn, args }, transfer);
  });
}
