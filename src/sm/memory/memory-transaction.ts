// A transaction of the in-memory storage manager: its objects are written as rows in the
// media's 'writing' state, invisible to queries; commit turns them all 'committed' at
// one instant (one time for all), abort removes them. It refuses what the local one
// refuses: bad names, unknown pools, objects left open at commit, use once it ended.

import { fail } from '../../common/errors.js';
import { isoTime } from '../../common/units.js';
import { checkDescriptorNames, type ObjectDescriptor, type SaveSetInfo, type Transaction } from '../storage-manager.js';
import type { MemoryMedia } from './memory-media.js';
import { MemoryObjectWriter } from './memory-object-writer.js';

export interface TransactionHost {
  readonly media: MemoryMedia;
  readonly recordSize: number;
  readonly bufferCount: number;
  infoOf(id: number): SaveSetInfo;
  checkOpen(): void;
}

export class MemoryTransaction implements Transaction {
  private readonly writers = new Set<MemoryObjectWriter>();
  private readonly ids: number[] = [];
  private state: 'open' | 'committed' | 'aborted' = 'open';

  constructor(
    private readonly host: TransactionHost,
    readonly id: number,
  ) {}

  async createObject(desc: ObjectDescriptor): Promise<MemoryObjectWriter> {
    this.checkOpen();
    checkDescriptorNames(desc);
    const { media } = this.host;
    if (!media.pools.has(desc.pool))
      fail('NOT_FOUND', `pool '${desc.pool}' does not exist`, `pools: ${[...media.pools].join(', ')}`);
    const id = media.nextSetId();
    const set = {
      id,
      txn: this.id,
      state: 'writing' as const,
      pool: desc.pool,
      server: desc.server,
      name: desc.name,
      kind: desc.kind,
      level: desc.level ?? null,
      meta: JSON.stringify(desc.meta ?? {}),
      created: isoTime(),
      committed: null,
      // stored raw whatever was asked: the info says what was done
      compression: 'none' as const,
      records: [],
      end: undefined,
    };
    media.sets.set(id, set);
    this.ids.push(id);
    const w = new MemoryObjectWriter(this, set, this.host.recordSize, this.host.bufferCount);
    this.writers.add(w);
    return w;
  }

  writerClosed(w: MemoryObjectWriter): void {
    this.writers.delete(w);
  }

  async commit(): Promise<SaveSetInfo[]> {
    this.checkOpen();
    if (this.writers.size > 0)
      fail(
        'USAGE',
        `transaction ${this.id}: save set(s) ${[...this.writers].map((w) => w.id).join(', ')} not closed before commit`,
      );
    const now = isoTime();
    for (const id of this.ids) {
      const s = this.host.media.sets.get(id)!;
      s.state = 'committed';
      s.committed = now;
    }
    this.state = 'committed';
    return this.ids.map((id) => this.host.infoOf(id));
  }

  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    for (const w of this.writers) w.abandon();
    this.writers.clear();
    for (const id of this.ids) this.host.media.sets.delete(id);
  }

  private checkOpen(): void {
    this.host.checkOpen();
    if (this.state !== 'open') fail('USAGE', `transaction ${this.id} is already ${this.state}`);
  }
}
