// What the backup client works with: settings, the storage manager, the history, the
// activity log, and the engine of the server it serves, as the composition root
// (cli/context.ts) built them. Nothing in bar/ picks an implementation itself.

import type { ActivityLog } from '../common/activity-log.js';
import type { Settings } from '../common/options.js';
import type { ArchiveChecker, EngineAdapter, OfflineEngine, WalSummarizer } from '../engine/engine.js';
import type { BackupHistory } from '../history/backup-history.js';
import type { StorageManager } from '../sm/storage-manager.js';

export interface BarContext {
  readonly settings: Settings;
  readonly server: string;
  readonly home: string;
  /** absolute path of the config file, for the restore_command written into a restored cluster */
  readonly configFile: string | undefined;
  readonly log: ActivityLog;
  readonly sm: StorageManager;
  readonly history: BackupHistory;
  /** the adapter of the running server, made on first use (it connects on its first question) */
  engine(): EngineAdapter;
  /** the engine with no server: data directories, WAL names and timelines, targets and times */
  readonly offline: OfflineEngine;
  /** the engine's archive validation (verify) */
  readonly checker: ArchiveChecker;
  /** the engine's WAL summaries, for `log archive` */
  readonly summarizer: WalSummarizer;
}
