// Connections to the PostgreSQL server, with errors a DBA can act on.

import type pg from 'pg';
import { fail } from '../../common/errors.js';

export interface PgConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

export async function connect(s: PgConnectionSettings, applicationName = 'openbar'): Promise<pg.Client> {
  const { default: pgModule } = await import('pg'); // loaded only by commands that talk to the server
  const client = new pgModule.Client({ host: s.host, port: s.port, user: s.user, database: s.database, application_name: applicationName });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    fail('PG', `cannot connect to PostgreSQL at ${s.host}:${s.port} as ${s.user}: ${(err as Error).message}`,
      'check that the server runs and pg_host, pg_port and pg_user in the config');
  }
  client.on('error', () => { /* reported by the failing query */ });
  return client;
}

export async function queryOne<T extends Record<string, unknown>>(client: pg.Client, sql: string, args: unknown[] = []): Promise<T> {
  try {
    const r = await client.query<T>(sql, args);
    return r.rows[0]!;
  } catch (err) {
    fail('PG', `PostgreSQL: ${(err as Error).message} (in: ${sql.split('\n')[0]!.slice(0, 80)})`);
  }
}
