// The in-process storage manager against the shared contract, with a small volume
// size so that objects span volumes and parallel writers mount several volumes.

import fs from 'node:fs';
import path from 'node:path';
import { silentLog } from '../../src/common/activity-log.js';
import { LocalStorageManager } from '../../src/sm/local/local-storage-manager.js';
import { tempDir } from '../harness/cli.js';
import { storageManagerContract } from '../suites/storage-manager-contract.js';

for (const compression of ['none', 'zstd'] as const) {
  storageManagerContract(`local, ${compression}, 2 MiB volumes`, async () => {
    const dir = tempDir('contract');
    const sm = LocalStorageManager.create({
      home: path.join(dir, 'home'),
      log: silentLog,
      maxVolumeSize: 2 * 1024 * 1024,
      write: { compression, compressionLevel: 1, recordSize: 256 * 1024, bufferCount: 4 },
    });
    return {
      sm,
      pools: { data: 'Data', logs: 'Logs' },
      dispose: async () => {
        await sm.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
