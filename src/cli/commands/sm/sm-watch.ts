// `openbar sm watch [--once]` (ism_watch): sessions writing now, volumes per pool, throughput.

import type { Command } from 'commander';
import { formatBytes, formatRate, formatTime, isoTime } from '../../../common/units.js';
import type { StorageAdmin } from '../../../sm/storage-admin.js';
import { action, jsonOption, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';
import { printJson, renderTable } from '../../render.js';

export function register(sm: Command, globals: Globals): void {
  subcommand(sm, 'watch', 'live view of sessions, volumes and throughput (Ctrl-C to leave)')
    .option('--once', 'print one view and exit')
    .option('--interval <seconds>', 'refresh interval', '2')
    .addOption(jsonOption())
    .action(
      action(async (opts: { once?: boolean; interval: string; json?: boolean }) => {
        const sm = loadContext(globals()).openStorage();
        try {
          if (opts.once || opts.json) {
            const v = await view(sm, new Map(), 0);
            if (opts.json) return printJson(v.data);
            process.stdout.write(v.text);
            return;
          }
          let last = new Map<number, number>();
          const every = Math.max(0.5, Number(opts.interval) || 2) * 1000;
          for (;;) {
            const v = await view(sm, last, every);
            last = v.bytes;
            process.stdout.write(`\x1b[H\x1b[2J${v.text}`);
            await new Promise((r) => setTimeout(r, every));
          }
        } finally {
          await sm.close();
        }
      }),
    );
}

async function view(sm: StorageAdmin, before: Map<number, number>, intervalMs: number) {
  const sessions = await sm.sessions();
  const pools = await sm.pools();
  const volumes = await sm.volumes();
  const now = Date.now();
  const rows = sessions.map((s) => {
    const elapsed = now - Date.parse(s.started);
    const rate =
      intervalMs > 0 && before.has(s.txn)
        ? formatRate(s.bytes - before.get(s.txn)!, intervalMs)
        : formatRate(s.bytes, Date.parse(s.updated) - Date.parse(s.started));
    return { ...s, elapsedMs: elapsed, rate };
  });
  const poolRows = pools.map((p) => {
    const vs = volumes.filter((v) => v.pool === p.name);
    return {
      pool: p.name,
      open: vs.filter((v) => v.state === 'open').length,
      full: vs.filter((v) => v.state === 'full').length,
      damaged: vs.filter((v) => v.state === 'damaged').length,
      mounted: vs.filter((v) => v.mountedBy).length,
      bytes: p.bytes,
    };
  });
  const text = [
    `openbar storage manager ${sm.smId} at ${formatTime(now)}`,
    '',
    rows.length === 0
      ? 'no sessions'
      : renderTable(rows, [
          { title: 'SESSION', value: (r) => r.txn, right: true },
          { title: 'OWNER', value: (r) => r.owner.split(':').slice(0, 2).join(':') },
          { title: 'STARTED', value: (r) => formatTime(r.started) },
          { title: 'WRITING', value: (r) => r.current },
          { title: 'BYTES', value: (r) => formatBytes(r.bytes), right: true },
          { title: 'RATE', value: (r) => r.rate, right: true },
        ]),
    '',
    renderTable(poolRows, [
      { title: 'POOL', value: (r) => r.pool },
      { title: 'OPEN', value: (r) => r.open, right: true },
      { title: 'FULL', value: (r) => r.full, right: true },
      { title: 'DAMAGED', value: (r) => r.damaged, right: true },
      { title: 'MOUNTED', value: (r) => r.mounted, right: true },
      { title: 'SIZE', value: (r) => formatBytes(r.bytes), right: true },
    ]),
    '',
  ].join('\n');
  return {
    text,
    data: { smId: sm.smId, time: isoTime(now), sessions: rows, pools: poolRows },
    bytes: new Map(sessions.map((s) => [s.txn, s.bytes])),
  };
}
