// Where volume files may lie: the folders under the home's volumes/ and a pool's device,
// listed as the catalog's rebuild and its currency check both look at them. A folder that
// cannot be read lists nothing (it is reported where it is used, not here).

import fs from 'node:fs';
import path from 'node:path';

/** The folders directly under `dir`; none when it cannot be read. */
export function subdirs(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(dir, d.name));
  } catch {
    return [];
  }
}

/** The names in `dir`; none when it cannot be read. */
export function namesIn(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
