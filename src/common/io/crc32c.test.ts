import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { CRC32C_INIT, crc32c, crc32cFinish, crc32cUpdate, loadNativeCrc32c } from './crc32c.js';

/** Bit at a time, straight from the definition: the reference the tables must match. */
function slowCrc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of b) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('gives the known check values', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
    // RFC 3720 (iSCSI) B.4
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  });

  it('agrees with the bitwise definition at every alignment and length', () => {
    const data = randomBytes(4096);
    for (let start = 0; start < 16; start++) {
      for (const len of [0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 100, 511, 512, 513, 1000, 4000 - start]) {
        const part = data.subarray(start, start + len);
        assert.equal(crc32c(data, start, start + len), slowCrc32c(part), `start ${start} len ${len}`);
        assert.equal(crc32c(part), slowCrc32c(part)); // a view with its own byteOffset
      }
    }
  });

  it('chains ranges the way PostgreSQL checks a WAL record (data, then header)', () => {
    const rec = randomBytes(200);
    let c = crc32cUpdate(CRC32C_INIT, rec, 24, 200);
    c = crc32cFinish(crc32cUpdate(c, rec, 0, 20));
    assert.equal(c, slowCrc32c(Buffer.concat([rec.subarray(24), rec.subarray(0, 20)])));
  });

  it('chains short ranges (tables) and long ones (native) into one checksum', () => {
    // the native build ships for Linux x64 (the CI machines): there, this checks its use
    if (process.platform === 'linux' && process.arch === 'x64') assert.ok(loadNativeCrc32c());
    const data = randomBytes(9000);
    for (const cuts of [
      [0, 100, 5000, 5100],
      [3, 515, 1030, 1031, 9000],
      [0, 8192, 9000],
      [24, 9000],
    ]) {
      let c = CRC32C_INIT;
      for (let i = 1; i < cuts.length; i++) c = crc32cUpdate(c, data, cuts[i - 1]!, cuts[i]!);
      assert.equal(
        crc32cFinish(c),
        slowCrc32c(data.subarray(cuts[0]!, cuts[cuts.length - 1]!)),
        `cuts ${cuts.join(',')}`,
      );
    }
  });
});
