import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { lendCodecWorker, sealShared } from './codec-pool.js';
import { codecIds } from './codec-kernels.js';
import { digestOf } from './content-hash.js';

describe('worker pool: a thread lent to it', () => {
  it('seals records on the WAL reading thread it was lent, lets the process end once released, and starts its own when that thread is gone', async () => {
    // the WAL reading thread serves pool tasks besides its own messages
    const lent = new Worker(new URL('../../engine/postgres/wal/wal-changes-worker.js', import.meta.url));
    let posted = 0;
    const post = lent.postMessage.bind(lent);
    lent.postMessage = (m: unknown, t?: readonly import('node:worker_threads').TransferListItem[]) => {
      posted++;
      post(m, t);
    };
    const loan = lendCodecWorker(lent);
    lent.on('message', (m: { type?: string }) => assert.equal(m.type, undefined, 'no WAL reply without a WAL request'));
    loan.warm();
    const seal = async () => {
      const memory = new SharedArrayBuffer(3 << 20);
      const raw = new Uint8Array(memory, 0, 1 << 20);
      for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 251;
      const expected = Buffer.from(digestOf(raw));
      const r = await sealShared(codecIds.lz4, 1, { memory, storedAt: 1 << 20 }, 1 << 20);
      assert.deepEqual(Buffer.from(r.digest), expected);
      return r;
    };
    await seal();
    assert.equal(posted, 2, 'the warm-up and the record went to the lent thread');
    loan.release();
    loan.release(); // twice is once

    // the lent thread ends (terminated by its owner by mistake): the pool starts threads of its own
    await lent.terminate();
    await seal();
  });
});
