// What the steps of one backup share once backup mode is on (backup.ts makes it): the
// client's context, the server's adapter and description, the attempt's action id, the
// spaces chosen, the storage transaction every save set goes into, and backup mode.

import type { BackupHandle, EngineAdapter, ServerInfo, SpaceInfo } from '../../engine/engine.js';
import type { Transaction } from '../../sm/storage-manager.js';
import type { BarContext } from '../bar-context.js';
import type { BackupOptions } from './backup.js';

export interface BackupRun {
  readonly ctx: BarContext;
  readonly engine: EngineAdapter;
  readonly opts: BackupOptions;
  readonly aid: number;
  readonly info: ServerInfo;
  readonly spaces: readonly SpaceInfo[];
  readonly txn: Transaction;
  readonly handle: BackupHandle;
}
