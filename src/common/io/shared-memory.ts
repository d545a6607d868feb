// Shared memory for transfer buffers, allocated as WebAssembly memory: WebAssembly kernels
// (page checksums) then work on the bytes in place, with no copy, and every buffer starts
// on a page boundary. Falls back to a plain SharedArrayBuffer where WebAssembly is absent.

/** The little of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
interface WasmMemoryApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmMemoryApi }).WebAssembly;

const WASM_PAGE = 65536;
const memories = new WeakMap<ArrayBufferLike, WasmMemory>();

/** A SharedArrayBuffer of at least `size` bytes (rounded up to 64 KiB when WebAssembly backs it). */
export function allocShared(size: number): SharedArrayBuffer {
  if (wasm) {
    try {
      const pages = Math.max(1, Math.ceil(size / WASM_PAGE));
      const mem = new wasm.Memory({ initial: pages, maximum: pages, shared: true });
      const buf = mem.buffer as SharedArrayBuffer;
      memories.set(buf, mem);
      return buf;
    } catch {
      /* no shared WebAssembly memory here */
    }
  }
  return new SharedArrayBuffer(size);
}

/** Whether `buf` is known to start on a page boundary (WebAssembly memory is mapped whole pages). */
export function isPageAligned(buf: ArrayBufferLike): boolean {
  return memories.has(buf);
}

/** The WebAssembly memory behind `buf`, when allocShared made it (in this thread). */
export function wasmMemoryOf(buf: ArrayBufferLike): WasmMemory | undefined {
  return memories.get(buf);
}
