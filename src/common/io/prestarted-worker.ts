// Worker threads started before the code that needs them has loaded. A thread takes
// ~30-45 ms to start (Node 20 compiles its internal modules anew in each), and a level 1
// or 2 needs its WAL thread at once: started by the launcher (src/cli/launch.ts) before
// the CLI is even compiled, the thread is up by the time the backup asks for it, instead
// of starting then, on the backup's critical path. A thread nobody takes costs its start
// and nothing else: it does not keep the process alive, and ends with it.
//
// The launcher and the CLI are separate bundles run in one realm: the threads are kept on
// globalThis under a registered symbol, keyed by their script's URL.

import { Worker } from 'node:worker_threads';

interface Prestarted {
  readonly worker: Worker;
  failed: boolean;
  taken: boolean;
}

const KEY = Symbol.for('openbar.prestartedWorkers');

function registry(): Map<string, Prestarted> {
  const g = globalThis as { [KEY]?: Map<string, Prestarted> };
  return (g[KEY] ??= new Map());
}

/** Starts a thread running `script`, for takePrestarted to hand out; never throws. */
export function prestartWorker(script: URL): void {
  const reg = registry();
  if (reg.has(script.href)) return;
  let worker: Worker;
  try {
    worker = new Worker(script);
  } catch {
    return;
  }
  const p: Prestarted = { worker, failed: false, taken: false };
  // until taken it must not hold the process (an unref before the thread is online does not stick)
  worker.unref();
  worker.once('online', () => {
    if (!p.taken) worker.unref();
  });
  // failure before anyone listens must not throw; the taker gets a new thread instead
  worker.on('error', () => {
    p.failed = true;
  });
  worker.on('exit', () => {
    p.failed = true;
  });
  reg.set(script.href, p);
}

/**
 * The thread prestarted for `script`, once, referenced again (it keeps the process alive
 * like a new one); undefined when none was started or it failed. It has had no message
 * yet, and its 'online' event may have passed.
 */
export function takePrestarted(script: URL): Worker | undefined {
  const reg = registry();
  const p = reg.get(script.href);
  if (!p) return undefined;
  reg.delete(script.href);
  p.taken = true;
  if (p.failed) {
    void p.worker.terminate().catch(() => {});
    return undefined;
  }
  p.worker.ref();
  return p.worker;
}
