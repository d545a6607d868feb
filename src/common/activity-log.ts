// The activity log (ON-Bar's BAR_ACT_LOG): one line per event, `time pid message`,
// appended with O_APPEND so concurrent openbar processes never interleave within a line.
// Logging must never make an operation fail: a log that cannot be written is skipped.
// The log is private (0600, its directory 0700), as everything in the home.

import fs from 'node:fs';
import path from 'node:path';
import { mkdirPrivate, PRIVATE_FILE_MODE } from './private-modes.js';
import { formatTime } from './units.js';

export interface ActivityLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLog: ActivityLog = Object.freeze({ info() {}, warn() {}, error() {} });

export function openActivityLog(file: string): ActivityLog {
  let dirMade = false;
  const write = (level: string, message: string) => {
    const line = `${formatTime(new Date())} ${process.pid} ${level}${message.replace(/\s*\n\s*/g, ' ')}\n`;
    try {
      if (!dirMade) {
        mkdirPrivate(path.dirname(file));
        dirMade = true;
      }
      fs.appendFileSync(file, line, { mode: PRIVATE_FILE_MODE });
    } catch {
      // the log is a record, not a dependency
    }
  };
  return Object.freeze({
    info: (m: string) => write('', m),
    warn: (m: string) => write('WARNING: ', m),
    error: (m: string) => write('ERROR: ', m),
  });
}

/**
 * A warning the person running the command must see as well: in the activity log, and as
 * one `openbar: warning: ...` line on stderr (which PostgreSQL's log keeps for archive_command).
 */
export function warnUser(log: ActivityLog, message: string): void {
  log.warn(message);
  process.stderr.write(`openbar: warning: ${message}\n`);
}
