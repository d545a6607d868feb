// Record sealing (BLAKE3, compression, CRC-32) and opening (CRC-32, decompression, BLAKE3)
// on the worker pool, so several records of a stream, and several streams, are worked on
// in parallel while the main thread reads and writes. Everything happens in place in the
// transfer buffer (raw area, stored area): nothing is copied or moved between threads.
// Small jobs run in-thread: starting the workers costs more than sealing a WAL segment,
// and archive_command runs per segment.

import { openShared as openSharedSync, sealShared as sealSharedSync, type SealedShared } from './codec-kernels.js';
import type { Worker } from 'node:worker_threads';
import { adoptWorker, preferInThread, runTask, warmPool, type PoolLoan } from './worker-pool.js';

export type { SealedShared } from './codec-kernels.js';

const kernels = new URL('./codec-kernels.js', import.meta.url);

/**
 * Makes `worker` (a thread that serves pool tasks besides its own work) a codec worker, so
 * that no other thread need start; `warm` has it load the codecs (when it has time),
 * `release` says its own work is over.
 */
export function lendCodecWorker(worker: Worker): PoolLoan {
  return adoptWorker(worker, kernels);
}

/** A transfer buffer as the kernels see it: raw bytes at 0, stored bytes at `storedAt`. */
export interface RecordBuffer {
  readonly memory: SharedArrayBuffer;
  readonly storedAt: number;
}

/** Starts the codec workers ahead of a large job (a backup, a restore), so none of it runs in-thread. */
export function warmCodecPool(): void {
  warmPool(kernels);
}

/** Seals the first `length` raw bytes of `buf`; a compressed result is left in its stored area. */
export async function sealShared(
  codec: number,
  level: number,
  buf: RecordBuffer,
  length: number,
): Promise<SealedShared> {
  if (preferInThread(length)) return sealSharedSync(codec, level, buf.memory, buf.storedAt, length);
  return runTask<SealedShared>(kernels, 'sealShared', [codec, level, buf.memory, buf.storedAt, length]);
}

/**
 * Opens a record whose stored bytes are in `buf` (in its stored area, or in its raw area
 * when `storedLength` is null: stored raw), checking their CRC-32 first; returns the BLAKE3
 * digest of the raw bytes, which are then in the raw area.
 */
export async function openShared(
  codec: number,
  buf: RecordBuffer,
  storedLength: number | null,
  rawLength: number,
  crc: number,
): Promise<{ digest: Uint8Array }> {
  if (preferInThread(rawLength)) return openSharedSync(codec, buf.memory, buf.storedAt, storedLength, rawLength, crc);
  return runTask(kernels, 'openShared', [codec, buf.memory, buf.storedAt, storedLength, rawLength, crc]);
}
