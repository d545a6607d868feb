// `openbar status [--json]` (onstat -g arc, oncheck -pr): the latest backup of each space
// (level, time, LSN, WAL) and the actions running now.

import os from 'node:os';
import type { Command } from 'commander';
import { ownerAlive } from '../../common/process-owner.js';
import { formatTime } from '../../common/units.js';
import type { HistoryDb } from '../../history/history-db.js';
import { action, jsonOption, subcommand, type Globals } from '../command.js';
import { loadContext } from '../context.js';
import { printJson, printTable } from '../render.js';
import { openHistory } from './history.js';

export function register(program: Command, globals: Globals): void {
  subcommand(program, 'status', 'the latest backup of each space (level, time, LSN, WAL) and actions in progress')
    .addOption(jsonOption())
    .action(action(async (opts: { json?: boolean }) => {
      const cmd = loadContext(globals());
      const db = openHistory(cmd.home);
      try {
        const server = cmd.settings.server;
        const latest = new Map<string, ReturnType<HistoryDb['instances']>[number]>();
        for (const i of db.instances({ server })) if (i.type !== 'L') latest.set(i.object, i);
        const host = os.hostname();
        const running = db.actions({ server }).filter((a) => a.status === -1 && a.pid !== null && ownerAlive(`${host}:${a.pid}:0`));
        const spaces = [...latest.values()];
        const wal = db.instances({ server, type: 'L' }).pop();
        if (opts.json) return printJson({ server, spaces, latestWal: wal ?? null, running });
        process.stdout.write(`server ${server}\n\n`);
        printTable(spaces, [
          { title: 'SPACE', value: (i) => i.object },
          { title: 'LEVEL', value: (i) => i.level },
          { title: 'BACKUP', value: (i) => i.aid, right: true },
          { title: 'TIME', value: (i) => formatTime(i.time) },
          { title: 'START LSN', value: (i) => i.startLsn },
          { title: 'STOP LSN', value: (i) => i.stopLsn },
          { title: 'FIRST WAL', value: (i) => i.firstWal },
          { title: 'VERIFIED', value: (i) => (i.verified ? formatTime(i.verifyDate!) : 'no') },
        ], 'no backups yet');
        process.stdout.write(`\nlatest WAL archived: ${wal ? `${wal.object} at ${formatTime(wal.time)}` : 'none'}\n`);
        process.stdout.write(running.length === 0 ? 'nothing running\n' : running.map((a) => `running: ${a.type} ${a.aid} (pid ${a.pid}) since ${formatTime(a.start)}`).join('\n') + '\n');
      } finally {
        db.close();
      }
    }));}
