// Files opened with O_DIRECT: large page-aligned reads and writes that bypass the page
// cache (no copy through it, no eviction of what others use).

import fs from 'node:fs';
import fsp from 'node:fs/promises';

/**
 * `file` opened for direct reads or writes, or undefined where the file system does not do
 * them (EINVAL on tmpfs and the like): the caller then reads or writes it buffered, which
 * also finds a file that is gone.
 */
export async function openDirect(file: string, access: 'read' | 'write'): Promise<fsp.FileHandle | undefined> {
  const flag = fs.constants.O_DIRECT;
  if (flag === undefined) return undefined;
  try {
    return await fsp.open(file, (access === 'read' ? fs.constants.O_RDONLY : fs.constants.O_WRONLY) | flag);
  } catch {
    return undefined;
  }
}
