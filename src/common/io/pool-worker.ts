// A worker thread of the pool: imports the named kernel module once, runs the named
// function (none: a warm-up that only loads the module), and sends the result back,
// moving any buffer in it that owns its memory.

import { parentPort } from 'node:worker_threads';

interface Task {
  id: number;
  kernel: string;
  fn: string;
  args: unknown[];
}

const modules = new Map<string, Record<string, (...a: unknown[]) => unknown>>();

function transferables(v: unknown, out: ArrayBuffer[]): void {
  if (v instanceof Uint8Array) {
    if (
      v.byteLength > 0 &&
      v.byteOffset === 0 &&
      v.byteLength === v.buffer.byteLength &&
      !(v.buffer instanceof SharedArrayBuffer) &&
      !out.includes(v.buffer as ArrayBuffer)
    )
      out.push(v.buffer as ArrayBuffer);
  } else if (v && typeof v === 'object') {
    for (const x of Object.values(v)) transferables(x, out);
  }
}

parentPort!.on('message', async (task: Task) => {
  if (typeof task?.kernel !== 'string') return; // a message of the thread's own (a worker lent to the pool)
  try {
    let mod = modules.get(task.kernel);
    if (!mod) {
      mod = (await import(task.kernel)) as Record<string, (...a: unknown[]) => unknown>;
      modules.set(task.kernel, mod);
    }
    if (task.fn === '') {
      // a warm-up: the module is loaded, nothing to run
      parentPort!.postMessage({ id: task.id, result: null });
      return;
    }
    const f = mod[task.fn];
    if (typeof f !== 'function') throw new Error(`no function ${task.fn} in ${task.kernel}`);
    const result = f(...task.args);
    const transfer: ArrayBuffer[] = [];
    transferables(result, transfer);
    parentPort!.postMessage({ id: task.id, result }, transfer);
  } catch (err) {
    parentPort!.postMessage({ id: task.id, error: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
  }
});
