// PostgreSQL's WalSummarizer: the summary of a WAL segment being archived, chained to the
// stored summary of the segment before it on the same timeline (see format/wal-summary.ts).

import type { WalSummarizer } from '../../engine.js';
import { parseWalFileName, walFileKind, walFileName } from '../format/lsn.js';
import { summarizeSegment } from './segment-summarizer.js';
import { WAL } from '../format/wal-format.js';
import { emptyPageHeader, readPageHeader } from '../format/wal-page.js';
import { decodeWalSummary, encodeWalSummary, type WalSummary } from '../format/wal-summary.js';

export const postgresWalSummarizer: WalSummarizer = {
  async summarize(name, data, previous) {
    if (walFileKind(name) !== 'segment') return undefined;
    if (data.length < WAL.LONG_PAGE_HEADER) return { skipped: `${data.length} bytes is too short for a WAL segment` };
    const h = readPageHeader(new DataView(data.buffer, data.byteOffset, data.byteLength), 0, emptyPageHeader());
    if (!(h.info & WAL.XLP_LONG_HEADER) || h.segSize !== data.length)
      return { skipped: 'its first page does not describe a segment of its size' };
    const named = parseWalFileName(name, h.segSize);
    if (!named) return { skipped: 'its name does not fit its segment size' };
    let prev: WalSummary | undefined;
    if (named.segno > 0n) {
      const bytes = await previous(walFileName(named.timeline, named.segno - 1n, h.segSize));
      try {
        prev = bytes ? decodeWalSummary(bytes) : undefined;
      } catch {
        prev = undefined; // a summary that cannot be read is as good as none: the head stays unresolved
      }
      if (prev && (prev.systemId !== String(h.sysid) || prev.segmentSize !== h.segSize)) prev = undefined;
    }
    const s = summarizeSegment(data, { segno: Number(named.segno), ...(prev ? { previous: prev } : {}) });
    return typeof s === 'string'
      ? { skipped: s }
      : { summary: encodeWalSummary(s), lastTransactionMs: s.lastTransactionMs ?? null };
  },
};
