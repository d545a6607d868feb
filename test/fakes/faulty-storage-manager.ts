// A fault-injecting wrapper around any StorageManager (restic's decorators, not a mock):
// everything goes through to the storage manager underneath, except that a transaction's
// commit, or an object's creation, fails where the test says. The commit fails before
// it reaches the storage manager, so nothing of that transaction is committed; the
// client is left to abort it, as it must after any failed commit.

import { OpenbarError } from '../../src/common/errors.js';
import type { ObjectDescriptor, StorageManager, Transaction } from '../../src/sm/storage-manager.js';

export interface Faults {
  /** fail the commit of a transaction whose objects are these */
  readonly commit?: (objects: readonly ObjectDescriptor[]) => boolean;
  /** fail the creation of this object */
  readonly create?: (desc: ObjectDescriptor) => boolean;
}

export function withFaults(sm: StorageManager, faults: Faults): StorageManager & { readonly injected: string[] } {
  const injected: string[] = [];
  const fault = (what: string): never => {
    injected.push(what);
    throw new OpenbarError('IO', `injected fault: ${what}`);
  };
  const wrap = (txn: Transaction): Transaction => {
    const objects: ObjectDescriptor[] = [];
    return {
      id: txn.id,
      async createObject(desc) {
        if (faults.create?.(desc)) fault(`create ${desc.kind} ${desc.name}`);
        objects.push(desc);
        return txn.createObject(desc);
      },
      async commit() {
        if (faults.commit?.(objects))
          fault(`commit of transaction ${txn.id} (${objects.map((o) => o.name).join(', ')})`);
        return txn.commit();
      },
      abort: () => txn.abort(),
    };
  };
  return {
    injected,
    beginTransaction: async (owner) => wrap(await sm.beginTransaction(owner)),
    query: (q) => sm.query(q),
    read: (id, opts) => sm.read(id, opts),
    readChunks: (id, opts) => sm.readChunks(id, opts),
    checkStored: (id, opts) => sm.checkStored(id, opts),
    delete: (ids) => sm.delete(ids),
    close: () => sm.close(),
  };
}
