import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeEntry, encodeHeader, encodeTrailer, SpaceStreamDecoder, type FileEntry } from './space-stream.js';

describe('space stream', () => {
  it('decodes an entry padded to a chosen length exactly as the unpadded one', () => {
    const entry: FileEntry = { path: '16384/16396', type: 'file', mode: 0o600, mtimeMs: 1, size: 8192 };
    const natural = encodeEntry(entry);
    const padded = encodeEntry(entry, natural.length + 4000);
    assert.equal(padded.length, natural.length + 4000);
    assert.equal(encodeEntry(entry, 3).length, natural.length, 'never shorter than natural');
    const page = Buffer.alloc(8192, 7);
    const header = encodeHeader({ space: 'pg_default', server: 's', systemId: '1', level: 0, part: 0, parts: 1, startLsn: '0/0', pageSize: 8192, created: 'now' });
    const stream = Buffer.concat([header, padded, page, encodeTrailer({ files: 1, bytes: 8192, badPages: 0 })]);
    const d = new SpaceStreamDecoder();
    // fed in small pieces, so the padded frame is split across chunks
    const events = [];
    for (let i = 0; i < stream.length; i += 1000) events.push(...d.push(stream.subarray(i, i + 1000)));
    d.end();
    const entries = events.filter((e) => e.kind === 'entry');
    assert.deepEqual(entries.map((e) => e.entry), [entry]);
    const data = Buffer.concat(events.flatMap((e) => (e.kind === 'data' ? [e.data] : [])));
    assert.ok(data.equals(page));
  });
});
