// Timeline history files (TLI.history), as PostgreSQL writes them at a promotion: one
// line per ancestor, "parentTLI <tab> switchpoint <tab> reason", comments and blank lines
// ignored (readTimeLineHistory). The only reader of their content; never trusts one.
//
//   1	0/3000158	no recovery target specified
//   2	0/5000000	before 2026-12-07 10:00:00+00
//
// Timeline N's file lists N's ancestors, oldest first: timeline 1 ran to 0/3000158, then
// timeline 2 to 0/5000000, then N. Each ancestor's TLI is below the next, LSNs never fall.

import { parseLsn, walFileKind, walFileTimeline, type Lsn } from './lsn.js';

/** One ancestor of a timeline: it ran until `end` (where the next one forked off). */
export interface TimelineEntry {
  readonly timeline: number;
  readonly end: Lsn;
}

export interface TimelineHistory {
  readonly timeline: number;
  /** the ancestors, oldest first; empty for timeline 1 */
  readonly ancestors: readonly TimelineEntry[];
}

/** The timeline a history file name is for (00000002.history: 2), or undefined. */
export function historyFileTimeline(name: string): number | undefined {
  return walFileKind(name) === 'history' ? walFileTimeline(name) : undefined;
}

/** Parses the history file of `timeline`; the reason it is not valid, if it is not. */
export function parseTimelineHistory(timeline: number, content: Uint8Array): TimelineHistory | { error: string } {
  if (timeline < 2) return { error: `timeline ${timeline} has no history file (only timelines from 2 do)` };
  if (content.length === 0) return { error: 'is empty' };
  if (content.length > 1 << 20) return { error: `is ${content.length} bytes, too long for a timeline history` };
  const text = Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8');
  if (text.includes('\0') || text.includes('\uFFFD')) return { error: 'is not text' };
  const ancestors: TimelineEntry[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const m = /^\s*(\d+)\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})(?:\s.*)?$/.exec(line);
    if (!m) return { error: `line ${i + 1} is not "timeline<TAB>LSN<TAB>reason"` };
    const tli = Number(m[1]);
    const end = parseLsn(m[2]!);
    const prev = ancestors[ancestors.length - 1];
    if (!Number.isSafeInteger(tli) || tli < 1) return { error: `line ${i + 1}: timeline ${m[1]} is not valid` };
    if (prev && tli <= prev.timeline)
      return { error: `line ${i + 1}: timeline IDs must be in increasing sequence (${tli} after ${prev.timeline})` };
    if (prev && end < prev.end)
      return { error: `line ${i + 1}: switch point ${m[2]} is before the one of timeline ${prev.timeline}` };
    ancestors.push({ timeline: tli, end });
  }
  if (ancestors.length === 0) return { error: 'lists no parent timeline' };
  const last = ancestors[ancestors.length - 1]!;
  if (last.timeline >= timeline)
    return { error: `lists timeline ${last.timeline}, which is not older than ${timeline}` };
  return { timeline, ancestors };
}
