// --map-tablespace: which tablespace of the backup each OLD=NEW names, and where it goes.

import path from 'node:path';
import { fail } from '../../common/errors.js';
import type { RecordedSpace } from '../../engine/engine.js';

/**
 * Where --map-tablespace puts each tablespace: OLD is its name, its OID or its old
 * location (pg_basebackup's OLDDIR=NEWDIR); an OLD that names none of the backup's
 * tablespaces, or two entries for one tablespace, is refused before anything is written.
 */
export function tablespaceMapping(
  spaces: readonly RecordedSpace[],
  map: ReadonlyMap<string, string>,
): (s: RecordedSpace) => string | undefined {
  const tablespaces = spaces.filter((x) => x.oid !== null);
  const to = new Map<string, { old: string; dir: string }>();
  for (const [old, dir] of map) {
    const abs = path.isAbsolute(old) ? path.resolve(old) : undefined;
    const s = tablespaces.find((x) =>
      abs !== undefined
        ? x.location !== null && path.resolve(x.location) === abs
        : x.name === old || String(x.oid) === old,
    );
    if (!s)
      fail(
        'USAGE',
        `--map-tablespace: the backup has no tablespace ${abs !== undefined ? `at ${old}` : `'${old}'`}`,
        `tablespaces: ${tablespaces.map((x) => `${x.name} (oid ${x.oid}, ${x.location ?? 'no location'})`).join(', ') || 'none'}`,
      );
    const before = to.get(s.name);
    if (before && before.dir !== dir)
      fail('USAGE', `--map-tablespace: ${before.old} and ${old} both name tablespace ${s.name}`, 'give it once');
    to.set(s.name, { old, dir });
  }
  return (s) => (s.oid !== null ? to.get(s.name)?.dir : undefined);
}
