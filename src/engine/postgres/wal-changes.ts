// Finds the pages changed since a base backup from the WAL: the segments from the one
// holding the base's start to the one holding this backup's start, each taken from the
// Logs pool or, not yet archived, from the server's pg_wal (checked like any other: a
// recycled file fails its page addresses). Anything the WAL cannot vouch for (a missing
// segment, damage, a record of unknown effect) comes back as a reason, not a guess.

import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseLsn, parseWalFileName, walFilesBetween } from './lsn.js';
import { PageChanges } from './page-changes.js';
import { collectChangedBlocks, type WalSegmentInput } from './wal/changed-blocks.js';
import { lsnText } from './wal/wal-page.js';

export interface WalChangesInput {
  readonly fromLsn: string;
  readonly toLsn: string;
  readonly timeline: number;
  readonly segmentSize: number;
  readonly systemId: string;
  readonly pgWal: string;
  readonly fetchArchived: (name: string) => Promise<Uint8Array | undefined>;
}

export async function findWalChanges(i: WalChangesInput): Promise<{ changes: PageChanges; records: number; walBytes: number } | { incomplete: string }> {
  const from = parseLsn(i.fromLsn);
  const to = parseLsn(i.toLsn);
  const names = walFilesBetween(i.timeline, from, to, i.segmentSize);
  let missing: string | undefined;
  async function* segments(): AsyncGenerator<WalSegmentInput> {
    for (const name of names) {
      const data = (await i.fetchArchived(name)) ?? (await fsp.readFile(path.join(i.pgWal, name)).catch(() => undefined));
      if (!data) { missing = name; return; }
      yield { data, segno: Number(parseWalFileName(name, i.segmentSize)!.segno) };
    }
  }
  const w = await collectChangedBlocks(segments(), { startLsn: from, endLsn: to, blockSize: 8192, sysid: BigInt(i.systemId) });
  if (missing) return { incomplete: `WAL file ${missing} (between ${i.fromLsn} and ${i.toLsn}) is neither in the Logs pool nor in pg_wal` };
  if (!w.complete) return { incomplete: `the WAL between ${i.fromLsn} and ${i.toLsn} cannot be read: ${w.stop.message}` };
  if (w.unknownCount > 0) {
    const u = w.unknown[0]!;
    return { incomplete: `${w.unknownCount} WAL record(s) change relations in ways openbar cannot follow (first at ${lsnText(u.lsn)}: ${u.reason})` };
  }
  return { changes: new PageChanges(w), records: w.records, walBytes: w.walBytes };
}
