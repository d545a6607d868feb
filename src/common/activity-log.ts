// The activity log (ON-Bar's BAR_ACT_LOG): one line per event, `time pid message`,
// appended with O_APPEND so concurrent openbar processes never interleave within a line.
// Logging must never make an operation fail: a log that cannot be written is skipped.

import fs from 'node:fs';
import path from 'node:path';
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
      if (!dirMade) { fs.mkdirSync(path.dirname(file), { recursive: true }); dirMade = true; }
      fs.appendFileSync(file, line);
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
