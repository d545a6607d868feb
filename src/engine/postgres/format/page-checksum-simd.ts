// pg_checksum_block in WebAssembly SIMD: the 32 FNV lanes of PostgreSQL's page checksum
// are eight i32x4 vectors. The module is small enough to assemble here, byte by byte,
// rather than ship a binary or a toolchain. It imports its memory, so that it runs in
// place on transfer buffers (common/io/shared-memory); it never writes to that memory.
// Falls back to undefined where SIMD is absent.

import { wasmMemoryOf, type WasmMemory } from '../../../common/io/shared-memory.js';
import { CHECKSUM_BASE_OFFSETS, FNV_PRIME } from './page-checksum.js';
import { PAGE_SIZE } from './page-size.js';

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

// opcodes
const LOCAL_GET = 0x20,
  LOCAL_SET = 0x21,
  LOCAL_TEE = 0x22,
  I32_CONST = 0x41,
  I32_ADD = 0x6a,
  I32_LT_U = 0x49;
const I32_XOR = 0x73,
  I32_REM_U = 0x70,
  LOOP = 0x03,
  BR_IF = 0x0d,
  END = 0x0b,
  VOID = 0x40;
const simd = (op: number) => [0xfd, ...uleb(op)];
const V128_LOAD = (offset: number) => [...simd(0x00), 0, ...uleb(offset)];
const V128_CONST = (lanes: number[]) => [...simd(0x0c), ...Buffer.from(new Uint32Array(lanes).buffer)];
const I32X4_EXTRACT = (lane: number) => [...simd(0x1b), lane];
const V128_XOR = simd(0x51),
  V128_AND = simd(0x4e),
  I32X4_SHR_U = simd(0xad),
  I32X4_MUL = simd(0xb5);
/** keeps every byte of the page's first 16 but pd_checksum (bytes 8-9), which counts as zero */
const CHECKSUM_FIELD_MASK = [0xffffffff, 0xffffffff, 0xffff0000, 0xffffffff];

// locals: 0 offset, 1 blkno (params); 2..9 the eight lane vectors; 10 tmp; 11 p; 12 end; 13 prime
const V = (k: number) => 2 + k;
const TMP = 10,
  P = 11,
  E = 12,
  PRIME = 13;

/** one FNV round on vector k, with the value on the stack already xored in */
const mix = (k: number) => [
  LOCAL_TEE,
  TMP,
  LOCAL_GET,
  PRIME,
  ...I32X4_MUL,
  LOCAL_GET,
  TMP,
  I32_CONST,
  17,
  ...I32X4_SHR_U,
  ...V128_XOR,
  LOCAL_SET,
  V(k),
];

function assemble(): Uint8Array {
  const body: number[] = [];
  for (let k = 0; k < 8; k++) body.push(...V128_CONST(CHECKSUM_BASE_OFFSETS.slice(k * 4, k * 4 + 4)), LOCAL_SET, V(k));
  body.push(...V128_CONST([FNV_PRIME, FNV_PRIME, FNV_PRIME, FNV_PRIME]), LOCAL_SET, PRIME);
  body.push(LOCAL_GET, 0, LOCAL_SET, P, LOCAL_GET, 0, I32_CONST, ...sleb(PAGE_SIZE), I32_ADD, LOCAL_SET, E);
  // the first 128 bytes apart, with the checksum field masked; then the rest in a loop
  for (let k = 0; k < 8; k++) {
    body.push(LOCAL_GET, V(k), LOCAL_GET, P, ...V128_LOAD(k * 16));
    if (k === 0) body.push(...V128_CONST(CHECKSUM_FIELD_MASK), ...V128_AND);
    body.push(...V128_XOR, ...mix(k));
  }
  body.push(LOCAL_GET, P, I32_CONST, ...sleb(128), I32_ADD, LOCAL_SET, P);
  body.push(LOOP, VOID);
  for (let k = 0; k < 8; k++) body.push(LOCAL_GET, V(k), LOCAL_GET, P, ...V128_LOAD(k * 16), ...V128_XOR, ...mix(k));
  body.push(LOCAL_GET, P, I32_CONST, ...sleb(128), I32_ADD, LOCAL_TEE, P, LOCAL_GET, E, I32_LT_U, BR_IF, 0, END);
  for (let r = 0; r < 2; r++) for (let k = 0; k < 8; k++) body.push(LOCAL_GET, V(k), ...mix(k));
  body.push(LOCAL_GET, V(0));
  for (let k = 1; k < 8; k++) body.push(LOCAL_GET, V(k), ...V128_XOR);
  body.push(LOCAL_TEE, TMP, ...I32X4_EXTRACT(0));
  for (let l = 1; l < 4; l++) body.push(LOCAL_GET, TMP, ...I32X4_EXTRACT(l), I32_XOR);
  body.push(LOCAL_GET, 1, I32_XOR, I32_CONST, ...sleb(65535), I32_REM_U, I32_CONST, 1, I32_ADD, END);
  const locals = vec([
    [9, 0x7b],
    [2, 0x7f],
    [1, 0x7b],
  ]); // 9 v128 (2..10), 2 i32 (11, 12), 1 v128 (13)
  const fn = [...locals, ...body];
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, 2, 0x7f, 0x7f, 1, 0x7f]])),
    // imports env.mem: a shared memory of up to 4 GiB
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x03, ...uleb(0), ...uleb(65536)]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('cs'), 0x00, 0]])),
    ...section(10, vec([[...uleb(fn.length), ...fn]])),
  ]);
}

/** The little of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** checksums the page at byte `offset` of the memory for block `blkno` (its bytes 8-9 are ignored) */
export type PageChecksumAt = (offset: number, blkno: number) => number;

let module: object | null | undefined;
const bound = new WeakMap<WasmMemory, PageChecksumAt>();

function compiled(): object | undefined {
  if (module === undefined) {
    try {
      if (!wasm) throw new Error('no WebAssembly');
      module = new wasm.Module(assemble());
    } catch {
      module = null;
    }
  }
  return module ?? undefined;
}

function bind(mem: WasmMemory): PageChecksumAt | undefined {
  let cs = bound.get(mem);
  if (cs === undefined) {
    const m = compiled();
    if (!m) return undefined;
    cs = new wasm!.Instance(m, { env: { mem } }).exports.cs as PageChecksumAt;
    bound.set(mem, cs);
  }
  return cs;
}

/** The SIMD checksum working in place on `buf`, when it is WebAssembly memory (a transfer buffer). */
export function simdChecksumIn(buf: ArrayBufferLike): PageChecksumAt | undefined {
  const mem = wasmMemoryOf(buf);
  return mem ? bind(mem) : undefined;
}

export interface SimdChecksum {
  readonly cs: PageChecksumAt;
  /** private memory: copy pages here to checksum bytes that live elsewhere */
  readonly memory: WasmMemory;
}

let scratch: SimdChecksum | null | undefined;

/** The SIMD checksum on a private memory, or undefined where this runtime lacks WebAssembly SIMD. */
export function simdChecksum(): SimdChecksum | undefined {
  if (scratch === undefined) {
    try {
      const memory = new wasm!.Memory({ initial: 17, maximum: 65536, shared: true });
      const cs = bind(memory);
      scratch = cs ? { cs, memory } : null;
    } catch {
      scratch = null;
    }
  }
  return scratch ?? undefined;
}
