// Fault injection for the crash tests: when OPENBAR_FAULT names a point, the process
// kills itself with SIGKILL there, exactly as `kill -9` would. Inert otherwise.

const wanted = process.env.OPENBAR_FAULT;
let hits = 0;

/**
 * `OPENBAR_FAULT=name` dies at the first pass, `name@N` at the N-th pass through `name`;
 * `name!` (or `name!@N`) throws an error there instead, to test how a failure is recorded.
 */
export function faultPoint(name: string): void {
  if (wanted === undefined) return;
  const [point, nth] = wanted.split('@');
  const throws = point!.endsWith('!');
  if ((throws ? point!.slice(0, -1) : point) !== name) return;
  hits++;
  if (hits < Number(nth ?? 1)) return;
  if (throws) throw new Error(`injected fault at ${name}`);
  process.kill(process.pid, 'SIGKILL');
}
