// The content hash of openbar: BLAKE3 (256-bit), about four times as fast as SHA-256 here,
// and as strong. A record's digest is the hash of its raw bytes; a save set's hash is the
// hash of its records' digests in order, so records are hashed in parallel.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
type BlakeModule = typeof import('@napi-rs/blake-hash');
let mod: BlakeModule | undefined;
const blake = (): BlakeModule => (mod ??= loadBlake());

/**
 * The platform's native package itself when it is installed: the generic package's loader
 * asks process.report whether the C library is musl, which costs about 20 ms in every
 * thread that loads it (the main thread and each codec worker). Anywhere else (another
 * platform, a musl system where the glibc build fails to load) the generic loader decides.
 */
function loadBlake(): BlakeModule {
  const abi = process.platform === 'linux' ? '-gnu' : process.platform === 'win32' ? '-msvc' : '';
  try {
    return require(`@napi-rs/blake-hash-${process.platform}-${process.arch}${abi}`) as BlakeModule;
  } catch {
    return require('@napi-rs/blake-hash') as BlakeModule;
  }
}

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

/** BLAKE3 of `data`, 32 bytes. */
export function digestOf(data: Uint8Array): Buffer {
  return blake().blake3(asBuffer(data));
}

/** Hex BLAKE3 of `data` (content identity, e.g. for archive idempotency). */
export function contentHash(data: Uint8Array): string {
  return digestOf(data).toString('hex');
}

/** Hash of a sequence of record digests. */
export class SetHasher {
  private readonly h = new (blake().Blake3Hasher)();

  update(digest: Uint8Array): void {
    this.h.update(asBuffer(digest));
  }

  hex(): string {
    return this.h.digest('hex');
  }
}
