// What a space save set carries, decoded from its content: per file, its pages by block
// number, or 'whole' for a file stored whole (no page list).

import { SpaceStreamDecoder } from '../../src/engine/postgres/format/space-stream.js';
import { readSaveSetContent } from './volume-surgery.js';

const PAGE = 8192;

export async function savesetPages(home: string, id: number): Promise<Map<string, Map<number, Buffer> | 'whole'>> {
  const out = new Map<string, Map<number, Buffer> | 'whole'>();
  const d = new SpaceStreamDecoder();
  let cur: { path: string; pages?: readonly number[] } | undefined;
  let data: Buffer[] = [];
  const flush = () => {
    if (!cur?.pages) return;
    const all = Buffer.concat(data);
    const had = out.get(cur.path);
    const m = had instanceof Map ? had : new Map<number, Buffer>();
    cur.pages.forEach((b, i) => m.set(b, all.subarray(i * PAGE, (i + 1) * PAGE)));
    out.set(cur.path, m);
  };
  for (const ev of d.push(await readSaveSetContent(home, id))) {
    if (ev.kind === 'entry') {
      flush();
      data = [];
      cur = ev.entry.type === 'file' ? ev.entry : undefined;
      if (cur && !cur.pages) out.set(cur.path, 'whole');
    } else if (ev.kind === 'data') data.push(Buffer.from(ev.data));
  }
  flush();
  return out;
}
