import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { FileCoverage } from './file-coverage.js';
import { RELSEG_BLOCKS } from '../format/page.js';
import { pageChecksum } from '../format/page-checksum.js';
import { encodeEntry, encodeHeader, encodeTrailer } from '../format/space-stream.js';
import { scanSpaceStream, type PageFinding } from './verify-space.js';

/** A page with a sane header whose checksum is set for block `blkno`. */
function page(blkno: number): Buffer {
  const p = randomBytes(8192);
  p.fill(0, 0, 8); // pd_lsn 0: older than any backup start
  p.writeUInt16LE(0, 10);
  p.writeUInt16LE(40, 12);
  p.writeUInt16LE(8000, 14);
  p.writeUInt16LE(8192, 16);
  p.writeUInt16LE(0x2004, 18);
  p.writeUInt16LE(pageChecksum(p, blkno), 8);
  return p;
}

describe('scan of a space stream (verify)', () => {
  it('names the block of a bad page in a page list, whatever runs the list makes', async () => {
    // segment 1 of relation 16384: block numbers in the stream are relative to the file
    const blocks = [0, 1, 2, 7, 8, 20, 131071];
    const base = RELSEG_BLOCKS;
    const pages = blocks.map((b) => page(base + b));
    for (const bad of [2, 7, 20]) {
      const data = pages.map((p) => Buffer.from(p));
      data[blocks.indexOf(bad)]![5000]! ^= 0x10;
      const stream = Buffer.concat([
        encodeHeader({
          space: 'pg_default',
          server: 's',
          systemId: '1',
          level: 1,
          part: 0,
          parts: 1,
          startLsn: '0/1000000',
          pageSize: 8192,
          created: new Date().toISOString(),
          baseLsn: '0/100',
        }),
        encodeEntry({
          path: '5/16384.1',
          type: 'file',
          mode: 0o600,
          mtimeMs: 0,
          size: RELSEG_BLOCKS * 8192,
          pages: blocks,
        }),
        ...data,
        encodeTrailer({ files: 1, bytes: data.length * 8192, badPages: 0 }),
      ]);
      const found: PageFinding[] = [];
      // fed in odd pieces, so that pages are cut between chunks too
      async function* pieces() {
        for (let at = 0; at < stream.length; at += 5000) yield stream.subarray(at, at + 5000);
      }
      const r = await scanSpaceStream(pieces(), {
        startLsn: '0/1000000',
        checksums: true,
        coverage: new FileCoverage(),
        onFinding: (f) => found.push(f),
      });
      assert.equal(r.pages, blocks.length);
      assert.deepEqual(found, [{ path: '5/16384.1', block: base + bad, problem: 'checksum' }]);
    }
  });
});
