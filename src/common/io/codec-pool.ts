// Record sealing (BLAKE3, compression, CRC-32) and opening (CRC-32, decompression, BLAKE3)
// on the worker pool, so several records of a stream, and several streams, are worked on
// in parallel while the main thread reads and writes. Small jobs run in-thread: starting
// the workers costs more than sealing a WAL segment, and archive_command runs per segment.

import { codecIds, openShared as openSharedSync, sealShared as sealSharedSync, type SealedShared } from './codec-kernels.js';
import { preferInThread, runTask, warmPool } from './worker-pool.js';

const kernels = new URL('./codec-kernels.js', import.meta.url);

/** Starts the codec workers ahead of a large job (a backup, a restore), so none of it runs in-thread. */
export function warmCodecPool(): void {
  warmPool(kernels);
}

/** Seals a record held in a shared slot, in place: no copy of the raw bytes is made. */
export async function sealShared(codec: number, level: number, memory: SharedArrayBuffer, length: number): Promise<SealedShared> {
  if (preferInThread(length)) return sealSharedSync(codec, level, memory, length);
  return runTask<SealedShared>(kernels, 'sealShared', [codec, level, memory, length]);
}

/** Opens a stored payload into a shared slot, its CRC-32 checked first; returns the BLAKE3 digest of the raw bytes. */
export async function openShared(codec: number, payload: Uint8Array, rawLength: number, memory: SharedArrayBuffer, crc: number): Promise<{ digest: Uint8Array }> {
  if (codec === codecIds.none) {
    if (payload.byteLength !== rawLength) throw Object.assign(new Error(`payload is ${payload.byteLength} bytes, expected ${rawLength}`), { code: 'FORMAT' });
    new Uint8Array(memory, 0, rawLength).set(payload); // already raw: one copy, on this thread
    if (preferInThread(rawLength)) return openSharedSync(codec, null, rawLength, memory, crc);
    return runTask(kernels, 'openShared', [codec, null, rawLength, memory, crc]);
  }
  if (preferInThread(rawLength)) return openSharedSync(codec, payload, rawLength, memory, crc);
  return runTask(kernels, 'openShared', [codec, payload, rawLength, memory, crc]);
}
