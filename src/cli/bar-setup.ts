// Builds the backup client's context from a command's settings: storage manager,
// history (boot file alone when history.db is gone) and the PostgreSQL adapter.

import path from 'node:path';
import type { BarContext } from '../bar/bar-context.js';
import { checkName } from '../common/names.js';
import type { EngineAdapter } from '../engine/engine.js';
import { PostgresAdapter } from '../engine/postgres/server/postgres-adapter.js';
import { BackupHistory } from '../history/backup-history.js';
import type { CommandContext, GlobalFlags } from './context.js';

/**
 * `history: 'read'` (restore, restore_command) works from the boot file alone when
 * history.db is gone; the default recreates history.db from the boot file first.
 */
export function openBar(cmd: CommandContext, flags: GlobalFlags, opts: { history?: 'read' | 'write' } = {}): BarContext & { close(): Promise<void> } {
  const server = checkName('server', cmd.settings.server);
  const sm = cmd.openStorage();
  const history = BackupHistory.open(cmd.home, server, { create: opts.history !== 'read', log: cmd.log });
  let engine: EngineAdapter | undefined;
  const configFile = flags.config ?? process.env.OPENBAR_CONFIG;
  return {
    settings: cmd.settings, server, home: cmd.home, log: cmd.log, sm, history,
    configFile: configFile ? path.resolve(configFile) : undefined,
    engine: () => {
      engine ??= new PostgresAdapter({
        host: cmd.settings.pg_host, port: cmd.settings.pg_port, user: cmd.settings.pg_user, database: cmd.settings.pg_database,
        dataDir: cmd.settings.pg_data,
      });
      return engine;
    },
    close: async () => {
      await engine?.close();
      history.close();
      await sm.close();
    },
  };
}
