// `openbar expire` (onsmsync): plans what the policy lets go, then deletes those save
// sets from the storage manager first and retires their history rows and boot-file
// lines after, so a crash in between leaves records of missing save sets (which a
// restore skips and `openbar sync` drops), never a save set a record has forgotten.
// A dry run plans through the same code and changes nothing at all.

import type { HistoryInstance } from '../../history/backup-history.js';
import type { BarContext } from '../bar-context.js';
import { SaveSetKind } from '../records/saveset-kinds.js';
import { planExpire, type ExpirePlan, type ExpirePolicy, type StoredWal } from './expire-plan.js';

export interface ExpireOptions {
  readonly policy: ExpirePolicy;
  readonly force: boolean;
  readonly dryRun: boolean;
}

export interface ExpireResult {
  readonly plan: ExpirePlan;
  readonly deletedSaveSets: number;
  readonly freedBytes: number;
  readonly dryRun: boolean;
}

/** What expiring does to the world; the dry run is the same plan with none of it. */
interface Effects {
  deleteSaveSets(ids: readonly number[]): Promise<void>;
  retire(list: readonly HistoryInstance[]): void;
  record(detail: Record<string, unknown>): void;
}

export async function runExpire(ctx: BarContext, opts: ExpireOptions): Promise<ExpireResult> {
  const engine = ctx.offline;
  const stored = await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.wal });
  const wal: StoredWal[] = stored.map((s) => ({
    id: s.id,
    name: s.name,
    position: engine.walPosition(s.name)?.position ?? null,
  }));
  const plan = planExpire({
    instances: ctx.history.instances(),
    wal,
    policy: opts.policy,
    force: opts.force,
    walPosition: (name) => engine.walPosition(name)?.position ?? null,
  });
  // a WAL file's summary goes with it (and one left without its file by an earlier crash)
  const goneWal = new Set(plan.wal.map((w) => w.name));
  const keptWal = new Set(stored.map((w) => w.name).filter((n) => !goneWal.has(n)));
  const summaries = (await ctx.sm.query({ server: ctx.server, kind: SaveSetKind.walSummary })).filter(
    (s) => !keptWal.has(s.name),
  );
  const ids = [
    ...new Set([
      ...plan.expire.flatMap((b) => b.instances.flatMap((i) => i.copyIds)),
      ...plan.wal.map((w) => w.id),
      ...summaries.map((s) => s.id),
    ]),
  ];
  const sizes = new Map([...stored, ...summaries].map((s) => [s.id, s.storedBytes]));
  for (const b of plan.expire)
    for (const i of b.instances)
      for (const id of i.copyIds) if (!sizes.has(id)) sizes.set(id, (await ctx.sm.query({ id }))[0]?.storedBytes ?? 0);
  const freedBytes = ids.reduce((a, id) => a + (sizes.get(id) ?? 0), 0);

  const fx = opts.dryRun ? dryEffects() : realEffects(ctx);
  // only save sets that still exist: an expire interrupted earlier may have removed some
  const present = (
    await Promise.all(ids.map(async (id) => ((await ctx.sm.query({ id })).length > 0 ? id : undefined)))
  ).filter((id): id is number => id !== undefined);
  await fx.deleteSaveSets(present);
  fx.retire([...plan.expire.flatMap((b) => b.instances), ...plan.walInstances]);
  fx.record({
    policy: opts.policy,
    force: opts.force,
    expired: plan.expire.map((b) => b.aid),
    kept: plan.keep.map((b) => b.aid),
    walFiles: plan.wal.length,
    walKeptFrom: plan.walKeptFrom,
    saveSets: present.length,
    freedBytes,
  });
  return { plan, deletedSaveSets: present.length, freedBytes, dryRun: opts.dryRun };
}

function realEffects(ctx: BarContext): Effects {
  const aid = ctx.history.beginAction('expire', null, {});
  return {
    async deleteSaveSets(ids) {
      try {
        // in batches: each is one storage-manager transaction with one tombstone record
        for (let i = 0; i < ids.length; i += 500) await ctx.sm.delete(ids.slice(i, i + 500));
      } catch (err) {
        ctx.history.endAction(aid, 1, (err as Error).message);
        throw err;
      }
    },
    retire(list) {
      ctx.history.retire(list, ctx.settings.history);
    },
    record(detail) {
      ctx.history.endAction(aid, 0, 'completed', detail);
      const d = detail as { expired: number[]; walFiles: number; saveSets: number; freedBytes: number };
      ctx.log.info(
        `expire ${aid}: ${d.expired.length ? `backup(s) ${d.expired.join(', ')}` : 'no backup'} and ${d.walFiles} WAL file(s) expired, ${d.saveSets} save set(s) deleted, ${d.freedBytes} bytes; history ${ctx.settings.history === 'keep' ? 'kept, marked expired' : 'purged'}`,
      );
    },
  };
}

function dryEffects(): Effects {
  return { async deleteSaveSets() {}, retire() {}, record() {} };
}
