// PostgreSQL's side of archive validation (archecker): scans space streams page by
// page, says which pages or bytes are missing, checks pg_control and WAL page headers.
// Problems come back as data naming the file, the relation and the page.

import type { ArchiveChecker, ArchiveFinding, RelationRef } from '../../engine.js';
import { CONTROL_FILE, readControlFile } from '../format/control-file.js';
import { FileCoverage } from './file-coverage.js';
import { pageProblemText, RELSEG_BLOCKS } from '../format/page.js';
import { scanSpaceStream } from './verify-space.js';
import { WalSegmentCheck } from '../format/wal-segment-check.js';
import { PAGE_SIZE } from '../format/page-size.js';
import { FORK_NAMES, relationPath, tablespaceOf } from '../format/relation-path.js';

/** The relation a file of a space belongs to, as a finding names it. */
export function relationRef(path: string, spaceOid: number | null): RelationRef | undefined {
  const f = relationPath(path);
  if (!f) return undefined;
  return {
    dbOid: f.db,
    spcOid: tablespaceOf(f, spaceOid),
    relfilenode: f.rel,
    fork: FORK_NAMES[f.fork]!,
    segment: f.segment,
  };
}

export const postgresArchiveChecker: ArchiveChecker = {
  newCoverage: () => new FileCoverage(),

  async scanSpace(stream, o) {
    const capture = o.onControlFile && o.space === 'pg_global' ? new Map([[CONTROL_FILE, o.onControlFile]]) : undefined;
    return scanSpaceStream(stream, {
      startLsn: o.startLsn,
      checksums: o.checksums,
      coverage: o.coverage as FileCoverage,
      depth: o.depth ?? 0,
      ...(o.onBytes ? { onBytes: o.onBytes } : {}),
      ...(capture ? { capture } : {}),
      onFinding: (f) => {
        const rel = relationRef(f.path, o.spaceOid);
        o.onFinding({
          space: o.space,
          path: f.path,
          block: f.block,
          ...(rel ? { relation: rel } : {}),
          problem: `page ${pageProblemText(f.problem)}`,
        });
      },
    });
  },

  *coverageGaps(space, spaceOid, coverage): Generator<ArchiveFinding> {
    for (const g of (coverage as FileCoverage).gaps()) {
      const rel = g.relation ? relationRef(g.path, spaceOid) : undefined;
      if (rel) {
        const base = rel.segment * RELSEG_BLOCKS;
        const first = base + Math.floor(g.from / PAGE_SIZE);
        const last = base + Math.ceil(g.to / PAGE_SIZE) - 1;
        yield {
          space,
          path: g.path,
          relation: rel,
          block: first,
          ...(last > first ? { lastBlock: last } : {}),
          problem: last > first ? `${last - first + 1} pages missing` : 'page missing',
        };
      } else {
        yield { space, path: g.path, problem: `bytes ${g.from}..${g.to - 1} of ${g.size} missing (file truncated)` };
      }
    }
  },

  checkControlFile(content, systemId) {
    const c = readControlFile(content);
    if ('error' in c) return c.error;
    if (c.crcOffset === undefined) return 'its CRC does not match its content (damaged)';
    if (c.systemId !== systemId)
      return `it belongs to database system ${c.systemId}, the backup was taken of ${systemId}`;
    return undefined;
  },

  walFileCheck(name, segmentSize, systemId) {
    const c = new WalSegmentCheck(name, segmentSize, systemId);
    return { push: (chunk) => c.push(chunk), end: () => c.end() };
  },
};
