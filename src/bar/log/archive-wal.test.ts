import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { contentHash } from '../../common/io/content-hash.js';
import { isOpenbarError } from '../../common/errors.js';
import type { ObjectWriter } from '../../sm/storage-manager.js';
import { fileInPieces } from './archive-wal.js';
import { WalFileCheck } from '../../engine/postgres/format/wal-file-check.js';

const gate = (name: string) => new WalFileCheck(name, {});

/** An ObjectWriter that keeps what is poured into it, 100,000 bytes of buffer at a time. */
function collector(): { w: ObjectWriter; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const w = {
    pour: async (fill: (space: Buffer) => Promise<number>) => {
      const space = Buffer.alloc(100_000);
      const n = await fill(space);
      parts.push(Buffer.from(space.subarray(0, n)));
      return n;
    },
  } as unknown as ObjectWriter;
  return { w, bytes: () => Buffer.concat(parts) };
}

describe('WAL file read in pieces for storing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-archive-wal-'));
  const file = path.join(dir, '000000010000000000000001');

  it('hashes as contentHash does and writes every byte, over several pieces', async () => {
    const data = randomBytes((3 << 20) + 5);
    fs.writeFileSync(file, data);
    const src = fileInPieces(file, gate(path.basename(file)));
    try {
      assert.equal(src.size, data.length);
      assert.equal(src.hash, contentHash(data));
      const c = collector();
      await src.writeTo(c.w);
      assert.ok(c.bytes().equals(data));
    } finally {
      src.close();
    }
  });

  it('fails as unreadable when the file changed between hashing and storing (a segment recycled meanwhile)', async () => {
    fs.writeFileSync(file, Buffer.alloc(1 << 20));
    const src = fileInPieces(file, gate(path.basename(file)));
    try {
      const fd = fs.openSync(file, 'r+');
      fs.writeSync(fd, Buffer.from([1, 2, 3]), 0, 3, 500_000);
      fs.closeSync(fd);
      await assert.rejects(
        src.writeTo(collector().w),
        (err) => isOpenbarError(err, 'NO_FILE') && /changed while it was stored/.test((err as Error).message),
      );
    } finally {
      src.close();
    }
  });

  it('a missing file is NO_FILE (the backup then waits for the archiver instead)', () => {
    assert.throws(
      () => fileInPieces(path.join(dir, 'nope'), gate('nope')),
      (err) => isOpenbarError(err, 'NO_FILE'),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
