// Whether the catalog is behind its volumes: a catalog.db put back from an older copy
// hands out save-set and transaction ids that committed save sets already carry, and
// its first append cuts those sets off as if they were a torn tail. Every record on a
// volume carries its transaction and save-set ids, and every id is committed to the
// catalog before a record carries it: a record with an id the catalog never handed out,
// a volume it never labelled, or one labelled again since, proves it behind.
// This module only reads, and cheaply (it runs at every open, for every archived WAL file).

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../common/errors.js';
import { ownerAlive } from '../../common/process-owner.js';
import type { Catalog, VolumeRow } from './catalog.js';
import { namesIn, subdirs } from './volume-dirs.js';
import { decodeLabel, decodeRecordHeader, LABEL_SIZE, RECORD_HEADER_SIZE, type VolumeLabel } from './volume-format.js';

export interface HighWater {
  readonly maxSaveSet: number;
  readonly maxTxn: number;
}

/** What the records past a volume's catalogued end hold, read header by header. */
export interface TailWalk {
  readonly records: number;
  /** the distinct transactions, in the order met */
  readonly txns: readonly number[];
  readonly maxSaveSet: number;
}

/** Walks the record headers of `fd` from `from` to `end`, stopping at the first that is not whole. */
export function walkTail(fd: number, from: number, end: number): TailWalk {
  const head = Buffer.alloc(RECORD_HEADER_SIZE);
  const txns: number[] = [];
  let records = 0;
  let maxSaveSet = 0;
  for (let pos = from; pos + RECORD_HEADER_SIZE <= end;) {
    if (fs.readSync(fd, head, 0, RECORD_HEADER_SIZE, pos) < RECORD_HEADER_SIZE) break;
    const h = decodeRecordHeader(head, 0);
    if ('error' in h || pos + RECORD_HEADER_SIZE + h.storedLength > end) break;
    records++;
    if (!txns.includes(h.txn)) txns.push(h.txn);
    maxSaveSet = Math.max(maxSaveSet, h.savesetId);
    pos += RECORD_HEADER_SIZE + h.storedLength;
  }
  return { records, txns, maxSaveSet };
}

/**
 * Why a tail cannot be a crashed writer's leftovers under this catalog, if it cannot: such
 * a tail is one transaction's records (a mount cuts the tail before appending), with
 * ids the catalog handed out.
 */
export function tailBehind(label: string, walk: TailWalk, hw: HighWater): string | undefined {
  const newer = walk.txns.find((t) => t > hw.maxTxn);
  if (newer !== undefined)
    return `volume ${label} holds transaction ${newer} past its catalogued end, and the catalog has handed out transactions up to ${hw.maxTxn}`;
  if (walk.maxSaveSet > hw.maxSaveSet)
    return `volume ${label} holds save set ${walk.maxSaveSet} past its catalogued end, and the catalog has handed out ids up to ${hw.maxSaveSet}`;
  if (walk.txns.length > 1)
    return `volume ${label} holds records of transactions ${walk.txns.join(', ')} past its catalogued end`;
  return undefined;
}

export function catalogBehind(file: string, why: string, more = 0): never {
  fail(
    'CATALOG_BEHIND',
    `the storage-manager catalog ${file} is behind its volumes (put back from an older copy?): ${why}${more > 0 ? ` (and ${more} more)` : ''}`,
  );
}

/** Refuses a catalog its volumes prove behind; nothing is written, whatever it finds. */
export function checkCatalogCurrent(catalog: Catalog, home: string): void {
  const findings = [...unknownVolumes(catalog, home), ...grownVolumes(catalog)];
  if (findings.length === 0) return;
  // what was read from the volumes is judged against the catalog as it is now, read
  // after them: a concurrent writer's new ids and volumes are committed before their bytes
  const hw = catalog.highWater();
  const reasons = findings.map((f) => f(hw)).filter((r): r is string => r !== undefined);
  if (reasons.length > 0) catalogBehind(catalog.file, reasons[0]!, reasons.length - 1);
}

type Finding = (hw: HighWater) => string | undefined;

/**
 * Volume files of this storage manager with a sequence past any the catalog labelled in
 * their pool. The lowest few of each pool are read: a behind catalog's next volume is there.
 */
function unknownVolumes(catalog: Catalog, home: string): Finding[] {
  const maxSeq = catalog.maxSequences();
  // a device recorded relative is refused where it is used, and not looked at from here
  const dirs = new Set([
    ...catalog
      .pools()
      .map((p) => p.device)
      .filter((d) => path.isAbsolute(d)),
    ...subdirs(path.join(home, 'volumes')),
  ]);
  const out: Finding[] = [];
  for (const dir of dirs) {
    const names = namesIn(dir);
    const newer = new Map<string, { seq: number; file: string }[]>();
    for (const n of names) {
      const m = /^(.+)\.(\d+)\.vol$/.exec(n);
      if (!m || Number(m[2]) <= (maxSeq.get(m[1]!) ?? 0)) continue;
      newer.set(m[1]!, [...(newer.get(m[1]!) ?? []), { seq: Number(m[2]), file: path.join(dir, n) }]);
    }
    for (const list of newer.values()) {
      const label = list
        .sort((a, b) => a.seq - b.seq)
        .slice(0, 3)
        .map((c) => ({ ...c, label: readLabelSync(c.file) }))
        .find((c) => c.label?.smId === catalog.smId); // not ours, or nothing written yet: `sm scan` reports those
      if (!label) continue;
      const l = label.label!;
      out.push(() =>
        catalog.volumeByLabel(l.label)
          ? undefined
          : `volume ${l.label} (${label.file}) of pool ${l.pool} is not in the catalog`,
      );
    }
  }
  return out;
}

/** Open volumes whose files hold more than the catalog says, or were labelled again since. */
function grownVolumes(catalog: Catalog): Finding[] {
  const out: Finding[] = [];
  for (const v of catalog.openVolumes()) {
    if (!path.isAbsolute(v.path)) continue;
    let size: number;
    try {
      size = fs.statSync(v.path).size;
    } catch {
      continue;
    } // missing: reported where it is read
    if (size === v.size) continue;
    if (size > v.size && v.mountedBy !== null && ownerAlive(v.mountedBy)) continue; // being written now
    const found = inspect(catalog, v, size);
    if (found) out.push(found);
  }
  return out;
}

function inspect(catalog: Catalog, v: VolumeRow, size: number): Finding | undefined {
  let fd: number;
  try {
    fd = fs.openSync(v.path, 'r');
  } catch {
    return undefined;
  }
  try {
    const walk = size > v.size ? walkTail(fd, v.size, size) : undefined;
    if (walk && walk.records > 0) return (hw) => tailBehind(v.label, walk, hw);
    // nothing readable where the catalog ends: the file was cut back and labelled again (recycled)
    const label = readLabelFd(fd);
    if (!label || label.created === v.created) return undefined;
    return () => {
      const now = catalog.volumeByLabel(v.label); // recycling relabels the file first, then the row
      if (!now || now.state !== 'open' || now.created === label.created) return undefined;
      return `volume ${v.label} was labelled again at ${label.created}; the catalog has it as labelled at ${now.created}`;
    };
  } finally {
    fs.closeSync(fd);
  }
}

function readLabelSync(file: string): VolumeLabel | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    return readLabelFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readLabelFd(fd: number): VolumeLabel | undefined {
  const block = Buffer.alloc(LABEL_SIZE);
  const n = fs.readSync(fd, block, 0, LABEL_SIZE, 0);
  const label = decodeLabel(block.subarray(0, n));
  return 'error' in label ? undefined : label;
}
