// Connections to the PostgreSQL server, with errors a DBA can act on.

import type pg from 'pg';
import { fail } from '../../../common/errors.js';

export interface PgConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

export async function connect(s: PgConnectionSettings, applicationName = 'openbar'): Promise<pg.Client> {
  const { default: pgModule } = await loadPg(); // loaded only by commands that talk to the server
  const client = new pgModule.Client({
    host: s.host,
    port: s.port,
    user: s.user,
    database: s.database,
    application_name: applicationName,
  });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    fail(
      'PG',
      `cannot connect to PostgreSQL at ${s.host}:${s.port} as ${s.user}: ${(err as Error).message}`,
      'check that the server runs and pg_host, pg_port and pg_user in the config',
    );
  }
  client.on('error', () => {
    /* reported by the failing query */
  });
  return client;
}

/**
 * The pg module. On loading, pg tells Node from Cloudflare Workers by `navigator.userAgent`,
 * and where there is no `navigator` (Node 20) by constructing a `Response`, which loads
 * Node's whole fetch implementation: 40 ms of start-up for nothing. Node 21 and later
 * define `navigator` themselves; here it gets the same user agent first.
 */
function loadPg(): Promise<typeof import('pg')> {
  if (!('navigator' in globalThis)) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` },
      configurable: true,
      writable: true,
    });
  }
  return import('pg');
}

export async function queryOne<T extends Record<string, unknown>>(
  client: pg.Client,
  sql: string,
  args: unknown[] = [],
): Promise<T> {
  try {
    const r = await client.query<T>(sql, args);
    return r.rows[0]!;
  } catch (err) {
    fail('PG', `PostgreSQL: ${(err as Error).message} (in: ${sql.split('\n')[0]!.slice(0, 80)})`);
  }
}
