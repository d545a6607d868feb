// One openbar process at a time stores a given WAL file. A backup storing its own WAL from
// pg_wal and archive_command pushing the same file can otherwise both find it missing and
// both store it. The lock is a file per name in the home holding its owner (host, pid, the
// pid's start time); one left by a killed process is taken over.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../common/errors.js';
import { ownerAlive, ownerId } from '../../common/process-owner.js';

const POLL_MS = 20;

export async function withWalNameLock<T>(
  home: string,
  name: string,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  const dir = path.join(home, 'locks');
  const file = path.join(dir, `wal-${name}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const me = ownerId();
  for (const deadline = Date.now() + timeoutMs; ;) {
    try {
      fs.writeFileSync(file, me, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = '';
    try {
      owner = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    } // released meanwhile
    // a lock being written is empty for a moment: only a complete owner that is gone is stale
    if (owner !== '' && !ownerAlive(owner)) {
      try {
        fs.unlinkSync(file);
      } catch {
        /* another process took it over first */
      }
      continue;
    }
    if (Date.now() > deadline)
      fail(
        'BUSY',
        `WAL file ${name} is being stored by another openbar process (${owner || 'starting'}) for more than ${timeoutMs / 1000} s`,
        `if no openbar process runs, remove ${file}`,
      );
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await fn();
  } finally {
    try {
      if (fs.readFileSync(file, 'utf8') === me) fs.unlinkSync(file);
    } catch {
      /* gone already */
    }
  }
}
