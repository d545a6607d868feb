// Progress of long work: percent, MB/s and ETA, redrawn on a terminal (stderr) and
// written to the activity log every `progress_freq` (ON-Bar's BAR_PROGRESS_FREQ).

import type { ActivityLog } from './activity-log.js';
import { formatBytes, formatDuration, formatRate } from './units.js';

export interface ProgressOptions {
  readonly what: string;
  /** total bytes, when known */
  readonly total?: number | undefined;
  readonly log: ActivityLog;
  readonly logEveryMs: number;
  /** draw on stderr when it is a terminal (default true) */
  readonly tty?: boolean;
  /** called with the figures each time a progress line is logged (e.g. to show them in `openbar status`) */
  readonly onLog?: (done: number, total: number | undefined) => void;
}

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastLog = Date.now();
  private lastDraw = 0;
  private readonly draw: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.draw = (opts.tty ?? true) && process.stderr.isTTY === true;
  }

  add(bytes: number): void {
    this.done += bytes;
    const now = Date.now();
    if (this.draw && now - this.lastDraw >= 250) {
      this.lastDraw = now;
      process.stderr.write(`\r${this.line()}\x1b[K`);
    }
    if (now - this.lastLog >= this.opts.logEveryMs) {
      this.lastLog = now;
      this.opts.log.info(`${this.opts.what}: ${this.line()}`);
      this.opts.onLog?.(this.done, this.opts.total);
    }
  }

  line(): string {
    const ms = Date.now() - this.started;
    const rate = formatRate(this.done, ms);
    const total = this.opts.total;
    if (total && total > 0) {
      const pct = Math.min(100, (this.done / total) * 100);
      const eta = this.done > 0 ? ((total - this.done) * ms) / this.done : Number.NaN;
      return `${pct.toFixed(1)}% ${formatBytes(this.done)} of ${formatBytes(total)}, ${rate}, ETA ${formatDuration(eta)}`;
    }
    return `${formatBytes(this.done)}, ${rate}`;
  }

  finish(): { bytes: number; ms: number } {
    if (this.draw) process.stderr.write('\r\x1b[K');
    return { bytes: this.done, ms: Date.now() - this.started };
  }
}
