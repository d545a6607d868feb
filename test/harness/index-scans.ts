// An index's answer against its table's: one query run with the planner held to the index
// (its plan must name it) and again held to a sequential scan. pg_amcheck of PostgreSQL 15
// checks only btree indexes and heaps; this is how damage to GiST, GIN and SP-GiST shows.

import type { SandboxCluster } from '../../src/engine/postgres/server/sandbox.js';

const TO_INDEX = ['SET enable_seqscan = off'];
const TO_TABLE = ['SET enable_indexscan = off', 'SET enable_bitmapscan = off', 'SET enable_indexonlyscan = off'];

export interface IndexAnswer {
  /** the query's one value through the index, or the error it met */
  readonly viaIndex: string;
  readonly viaTable: string;
  /** the index was in the plan of the first run */
  readonly usedIndex: boolean;
  readonly plan: string;
}

/** `query` returns one row of one column; `index` is the name the first plan must show. */
export async function indexAnswer(
  c: SandboxCluster,
  index: string,
  query: string,
  db = 'postgres',
): Promise<IndexAnswer> {
  const idx = await run(c, db, TO_INDEX, query);
  const table = await run(c, db, TO_TABLE, query);
  return { viaIndex: idx.value, viaTable: table.value, usedIndex: idx.plan.includes(index), plan: idx.plan };
}

async function run(
  c: SandboxCluster,
  db: string,
  settings: readonly string[],
  query: string,
): Promise<{ value: string; plan: string }> {
  const client = await c.client(db);
  try {
    for (const s of settings) await client.query(s);
    const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`)).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    try {
      const [row] = (await client.query<Record<string, unknown>>(query)).rows;
      return { value: String(Object.values(row ?? {})[0]), plan };
    } catch (err) {
      return { value: `error: ${(err as Error).message}`, plan };
    }
  } finally {
    await client.end();
  }
}
