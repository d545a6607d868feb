import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeLabel,
  decodeRecordHeader,
  encodeLabel,
  encodeRecordHeader,
  LABEL_SIZE,
  RECORD_HEADER_SIZE,
  RecordKind,
} from './volume-format.js';

describe('volume format', () => {
  const label = {
    label: 'Data.0001',
    pool: 'Data',
    sequence: 1,
    created: '2026-01-01T00:00:00Z',
    smId: 'sm',
    maxVolumeSize: 1 << 30,
    retentionDays: null,
    compression: null,
  };

  it('round-trips a label and detects any damage to it', () => {
    const b = encodeLabel(label);
    assert.equal(b.length, LABEL_SIZE);
    assert.deepEqual(decodeLabel(b), label);
    b[100] ^= 1;
    assert.match((decodeLabel(b) as { error: string }).error, /checksum/);
    assert.match((decodeLabel(Buffer.alloc(LABEL_SIZE)) as { error: string }).error, /magic/);
  });

  it('round-trips a record header and detects damage to it', () => {
    const h = {
      kind: RecordKind.data,
      codec: 2,
      savesetId: 2 ** 40 + 3,
      seq: 7,
      rawLength: 1 << 20,
      storedLength: 1234,
      checksum: 0xdeadbeef,
      txn: 9,
    };
    const b = encodeRecordHeader(h);
    assert.equal(b.length, RECORD_HEADER_SIZE);
    assert.deepEqual(decodeRecordHeader(b, 0), h);
    b[20] ^= 1;
    assert.match((decodeRecordHeader(b, 0) as { error: string }).error, /header checksum/);
  });
});
