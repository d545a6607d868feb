// The in-memory storage manager against the shared contract, with the local one's
// contract record size (256 KiB) so that objects are many records, and with the
// largest (16 MiB) so that an object is one record.

import { MemoryStorageManager } from '../../src/sm/memory/memory-storage-manager.js';
import { storageManagerContract } from '../suites/storage-manager-contract.js';

for (const recordSize of [256 * 1024, 16 * 1024 * 1024]) {
  storageManagerContract(`memory, ${recordSize / 1024} KiB records`, async () => {
    const sm = MemoryStorageManager.create({ recordSize });
    return { sm, pools: { data: 'Data', logs: 'Logs' }, dispose: () => sm.close() };
  });
}
