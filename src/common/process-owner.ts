// Identifies a live process across restarts (host, pid and the pid's start time), so
// that a lock or session left by a process killed with SIGKILL can be recognised as stale.

import fs from 'node:fs';
import os from 'node:os';

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime) counted after the parenthesised command name
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

let self: string | undefined;

export function ownerId(): string {
  self ??= `${os.hostname()}:${process.pid}:${startTimeOf(process.pid) ?? '0'}`;
  return self;
}

/** False only when we can tell for sure that the owner process is gone. */
export function ownerAlive(owner: string): boolean {
  const [host, pidText, start] = owner.split(':');
  if (host !== os.hostname()) return true;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const now = startTimeOf(pid);
  return now === undefined || start === '0' || now === start;
}
