// pg_checksum_block in WebAssembly SIMD: the 32 FNV lanes of PostgreSQL's page checksum
// are eight i32x4 vectors. The module is small enough to assemble here, byte by byte,
// rather than ship a binary or a toolchain. Falls back to undefined where SIMD is absent.

const FNV_PRIME = 16777619;
const BASE = [
  0x5b1f36e9, 0xb8525960, 0x02ab50aa, 0x1de66d2a, 0x79ff467a, 0x9bb9f8a3, 0x217e7cd2, 0x83e13d2c,
  0xf8d4474f, 0xe39eb970, 0x42c6ae16, 0x993216fa, 0x7b093b5d, 0x98daff3c, 0xf718902a, 0x0b1c9cdb,
  0xe58f764b, 0x187636bc, 0x5d7b3bb1, 0xe73de7de, 0x92bec979, 0xcca6c0b2, 0x304a0979, 0x85aa43d4,
  0x783125bb, 0x6ca8eaa2, 0xe407eac6, 0x4b5cfc3e, 0x9fbf8c76, 0x15ca20be, 0xf2ca9fd3, 0x959bd756,
];

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
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
};
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'utf8')];

// opcodes
const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22, I32_CONST = 0x41, I32_ADD = 0x6a, I32_LT_U = 0x49;
const I32_XOR = 0x73, I32_REM_U = 0x70, LOOP = 0x03, BR_IF = 0x0d, END = 0x0b, VOID = 0x40;
const simd = (op: number) => [0xfd, ...uleb(op)];
const V128_LOAD = (offset: number) => [...simd(0x00), 0, ...uleb(offset)];
const V128_CONST = (lanes: number[]) => [...simd(0x0c), ...Buffer.from(new Uint32Array(lanes).buffer)];
const I32X4_EXTRACT = (lane: number) => [...simd(0x1b), lane];
const V128_XOR = simd(0x51), I32X4_SHR_U = simd(0xad), I32X4_MUL = simd(0xb5);

// locals: 0 offset, 1 blkno (params); 2..9 the eight lane vectors; 10 tmp; 11 p; 12 end; 13 prime
const V = (k: number) => 2 + k;
const TMP = 10, P = 11, E = 12, PRIME = 13;

/** one FNV round on vector k, with the value on the stack already xored in */
const mix = (k: number) => [LOCAL_TEE, TMP, LOCAL_GET, PRIME, ...I32X4_MUL, LOCAL_GET, TMP, I32_CONST, 17, ...I32X4_SHR_U, ...V128_XOR, LOCAL_SET, V(k)];

function assemble(): Uint8Array {
  const body: number[] = [];
  for (let k = 0; k < 8; k++) body.push(...V128_CONST(BASE.slice(k * 4, k * 4 + 4)), LOCAL_SET, V(k));
  body.push(...V128_CONST([FNV_PRIME, FNV_PRIME, FNV_PRIME, FNV_PRIME]), LOCAL_SET, PRIME);
  body.push(LOCAL_GET, 0, LOCAL_SET, P, LOCAL_GET, 0, I32_CONST, ...sleb(8192), I32_ADD, LOCAL_SET, E);
  body.push(LOOP, VOID);
  for (let k = 0; k < 8; k++) body.push(LOCAL_GET, V(k), LOCAL_GET, P, ...V128_LOAD(k * 16), ...V128_XOR, ...mix(k));
  body.push(LOCAL_GET, P, I32_CONST, ...sleb(128), I32_ADD, LOCAL_TEE, P, LOCAL_GET, E, I32_LT_U, BR_IF, 0, END);
  for (let r = 0; r < 2; r++) for (let k = 0; k < 8; k++) body.push(LOCAL_GET, V(k), ...mix(k));
  body.push(LOCAL_GET, V(0));
  for (let k = 1; k < 8; k++) body.push(LOCAL_GET, V(k), ...V128_XOR);
  body.push(LOCAL_TEE, TMP, ...I32X4_EXTRACT(0));
  for (let l = 1; l < 4; l++) body.push(LOCAL_GET, TMP, ...I32X4_EXTRACT(l), I32_XOR);
  body.push(LOCAL_GET, 1, I32_XOR, I32_CONST, ...sleb(65535), I32_REM_U, I32_CONST, 1, I32_ADD, END);
  const locals = vec([[9, 0x7b], [2, 0x7f], [1, 0x7b]]); // 9 v128 (2..10), 2 i32 (11, 12), 1 v128 (13)
  const fn = [...locals, ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 2, 0x7f, 0x7f, 1, 0x7f]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...uleb(17)]])),
    ...section(7, vec([[...name('mem'), 0x02, 0], [...name('cs'), 0x00, 0]])),
    ...section(10, vec([[...uleb(fn.length), ...fn]])),
  ]);
}

/** The little of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export interface SimdChecksum {
  /** checksums the page at `offset` of `memory` (its bytes 8-9 must be zero) for block `blkno` */
  readonly cs: (offset: number, blkno: number) => number;
  readonly memory: WasmMemory;
}

let instance: SimdChecksum | null | undefined;

/** The SIMD checksum, or undefined where this runtime lacks WebAssembly SIMD. */
export function simdChecksum(): SimdChecksum | undefined {
  if (instance === undefined) {
    try {
      if (!wasm) throw new Error('no WebAssembly');
      const inst = new wasm.Instance(new wasm.Module(assemble()));
      const ex = inst.exports as { cs: (o: number, b: number) => number; mem: WasmMemory };
      instance = { cs: ex.cs, memory: ex.mem };
    } catch {
      instance = null;
    }
  }
  return instance ?? undefined;
}
