// Space streams made in memory for the restore loop's tests: a header, the items' entries
// and bytes as given (nothing checked: a test may craft a hostile stream), a trailer.
// Used by tests only.

import { encodeEntry, encodeHeader, encodeTrailer, type FileEntry } from '../format/space-stream.js';
import { PAGE_SIZE } from '../format/page-size.js';

/** One entry of a stream and the bytes that follow it. */
export interface StreamItem {
  readonly entry: FileEntry;
  readonly data?: Buffer;
}

/** The stream of `items` as a part of `space` at `level`, handed out `chunk` bytes at a time (odd sizes make pages straddle chunks). */
export function spaceStream(
  space: string,
  level: number,
  items: readonly StreamItem[],
  chunk: number,
): () => AsyncIterable<Buffer> {
  const whole = Buffer.concat([
    encodeHeader({
      space,
      server: 't',
      systemId: '1',
      level,
      part: 0,
      parts: 1,
      startLsn: '0/0',
      pageSize: PAGE_SIZE,
      created: '',
    }),
    ...items.flatMap((i) => [encodeEntry(i.entry), i.data ?? Buffer.alloc(0)]),
    encodeTrailer({ files: items.length, bytes: 0, badPages: 0 }),
  ]);
  return async function* () {
    for (let at = 0; at < whole.length; at += chunk) yield Buffer.from(whole.subarray(at, at + chunk));
  };
}
