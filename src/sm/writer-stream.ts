// An object writer as a Node stream, for pipeline(): each chunk written through the
// writer (its backpressure is the stream's), closed at the stream's end.

import { Writable } from 'node:stream';
import type { ObjectWriter } from './storage-manager.js';

export function writerStream(w: Pick<ObjectWriter, 'write' | 'close'>, highWaterMark: number): Writable {
  return new Writable({
    highWaterMark,
    write: (chunk: Buffer, _enc, cb) => {
      w.write(chunk).then(() => cb(), cb);
    },
    final: (cb) => {
      w.close().then(() => cb(), cb);
    },
  });
}
