// Splits a space's files into parts of similar size so that parallel streams share the
// work; each part becomes one save set. Files stay whole; each part keeps path order.

import type { SpaceFile } from '../../engine/engine.js';

/** Files larger than this are cut into ranges of this size, so one big table does not hold up a stream. */
export const RANGE_BYTES = 32 * 1024 * 1024;

export function splitIntoParts(files: readonly SpaceFile[], parts: number): SpaceFile[][] {
  if (parts <= 1) return [files.slice()];
  const bins = Array.from({ length: parts }, () => ({ size: 0, files: [] as SpaceFile[] }));
  // directories and links go to the first part, so it creates the tree
  const pieces = files.filter((f) => f.type === 'file').flatMap((f) => {
    if (f.size <= RANGE_BYTES) return [f];
    const out: SpaceFile[] = [];
    for (let offset = 0; offset < f.size; offset += RANGE_BYTES) out.push({ ...f, range: { offset, length: Math.min(RANGE_BYTES, f.size - offset) } });
    return out;
  });
  const sorted = pieces.sort((a, b) => sizeOf(b) - sizeOf(a));
  bins[0]!.files.push(...files.filter((f) => f.type !== 'file'));
  for (const f of sorted) {
    let best = bins[0]!;
    for (const b of bins) if (b.size < best.size) best = b;
    best.files.push(f);
    best.size += sizeOf(f);
  }
  const byPath = (a: SpaceFile, b: SpaceFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : (a.range?.offset ?? 0) - (b.range?.offset ?? 0));
  return bins.filter((b, i) => i === 0 || b.files.length > 0).map((b) => b.files.sort(byPath));
}

/** How many parts a space of `bytes` gets: enough to keep the streams busy, none tiny. */
export function partsFor(bytes: number, streams: number): number {
  const minPart = 64 * 1024 * 1024;
  return Math.max(1, Math.min(streams, Math.floor(bytes / minPart)));
}

function sizeOf(f: SpaceFile): number {
  return f.range ? f.range.length : f.size;
}
