// The backup client's context for a command, from what the composition root
// (context.ts) builds: its storage manager, its engine, and the history (the boot file
// alone when history.db is gone).

import type { BarContext } from '../bar/bar-context.js';
import { checkName } from '../common/names.js';
import type { EngineAdapter } from '../engine/engine.js';
import { BackupHistory } from '../history/backup-history.js';
import { configFileOf } from './config-file.js';
import { loadEngine, type CommandContext, type GlobalFlags } from './context.js';

/**
 * `history: 'read'` (restore, restore_command) works from the boot file alone when
 * history.db is gone; the default recreates history.db from the boot file first.
 */
export async function openBar(
  cmd: CommandContext,
  flags: GlobalFlags,
  opts: { history?: 'read' | 'write' } = {},
): Promise<BarContext & { close(): Promise<void> }> {
  const server = checkName('server', cmd.settings.server);
  const engine = await loadEngine();
  const sm = cmd.openStorage();
  const history = BackupHistory.open(cmd.home, server, { create: opts.history !== 'read', log: cmd.log });
  let adapter: EngineAdapter | undefined;
  const configFile = configFileOf(flags);
  return {
    settings: cmd.settings,
    server,
    home: cmd.home,
    log: cmd.log,
    sm,
    history,
    configFile,
    engine: () => (adapter ??= engine.adapter(cmd.settings)),
    offline: engine.offline,
    checker: engine.checker,
    summarizer: engine.summarizer,
    close: async () => {
      await adapter?.close();
      history.close();
      await sm.close();
    },
  };
}
