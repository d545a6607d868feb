// Phase timings for performance work: with OPENBAR_TRACE=1, each `trace(label)` writes
// the milliseconds since process start to stderr. Silent otherwise.

const on = process.env.OPENBAR_TRACE !== undefined && process.env.OPENBAR_TRACE !== '';

export function trace(label: string): void {
  if (on) process.stderr.write(`trace ${performance.now().toFixed(0).padStart(6)} ms ${label}\n`);
}
