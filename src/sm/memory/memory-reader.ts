// Reads a save set of the in-memory storage manager back with the checks the local
// reader makes that apply to records held in memory: each record's CRC-32C, their
// sequence, the END's totals against what was read, and the whole-set hash (the media
// keeps one END per set, so there is no separate catalog row to disagree with it). Damage fails the read naming the save set, its pool and the offset of
// the record in the set. Chunks are lent: one transfer buffer, overwritten (and the
// bytes past the new chunk poisoned) when the next chunk is asked for, so a consumer that
// keeps a chunk past its turn reads garbage here rather than only under load elsewhere.

import { fail } from '../../common/errors.js';
import { ContentHasher, digestOf } from '../../common/io/content-hash.js';
import { crc32c } from '../../common/io/crc32c.js';
import type { SaveSetInfo } from '../storage-manager.js';
import type { MemorySaveSet } from './memory-media.js';

export interface MemoryReadPlan {
  readonly set: MemorySaveSet;
  readonly info: SaveSetInfo;
  readonly signal?: AbortSignal | undefined;
  /** Only what is stored: CRCs, sequence and totals; nothing hashed, nothing yielded. */
  readonly storedOnly?: boolean;
}

const POISON = 0xdb;

export async function* readMemorySaveSet(plan: MemoryReadPlan): AsyncGenerator<Buffer> {
  const { set, info } = plan;
  function damage(offset: number, what: string, code: 'CHECKSUM' | 'TRUNCATED' | 'FORMAT' = 'CHECKSUM'): never {
    fail(
      code,
      `save set ${info.id} (${info.name}): ${what} in memory pool ${info.pool} at offset ${offset}`,
      'the save set is damaged; use another backup',
    );
  }
  const hash = new ContentHasher();
  let lend = Buffer.alloc(0);
  let lent = 0;
  let offset = 0;
  let rawBytes = 0;
  plan.signal?.throwIfAborted();
  for (const [i, r] of set.records.entries()) {
    plan.signal?.throwIfAborted();
    if (r.seq !== i + 1) damage(offset, `record ${r.seq} out of sequence (expected ${i + 1})`, 'FORMAT');
    if (crc32c(r.bytes) !== r.crc) damage(offset, 'record checksum mismatch');
    offset += r.bytes.length;
    rawBytes += r.bytes.length;
    if (plan.storedOnly) continue;
    hash.update(digestOf(r.bytes));
    if (lend.length < r.bytes.length) lend = Buffer.alloc(r.bytes.length);
    lend.fill(POISON, 0, lent);
    r.bytes.copy(lend);
    lent = r.bytes.length;
    yield lend.subarray(0, lent);
  }
  lend.fill(POISON, 0, lent);
  const end = set.end;
  if (!end) damage(offset, 'END record missing', 'TRUNCATED');
  if (end.records !== set.records.length || end.rawBytes !== rawBytes) {
    damage(
      offset,
      `END says ${end.records} records / ${end.rawBytes} bytes, read ${set.records.length} / ${rawBytes}`,
      'FORMAT',
    );
  }
  if (!plan.storedOnly && hash.hex() !== end.hash) damage(offset, 'whole-set hash mismatch');
}
