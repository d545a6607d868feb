// What the backup client works with: settings, the storage manager, the history, the
// activity log, and the engine adapter of the server it serves.

import type { ActivityLog } from '../common/activity-log.js';
import type { Settings } from '../common/options.js';
import type { EngineAdapter } from '../engine/engine.js';
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
  engine(): EngineAdapter;
}
