// The PostgreSQL engine whole, as the composition root (cli/context.ts) takes it: the
// adapter of a running server, the offline side, archive validation and WAL summaries.
// Nothing here runs a query or reads a file; it only says which module does what.

import type { Engine, WalSummarizer } from '../engine.js';
import { postgresOffline } from './offline-engine.js';
import { PostgresAdapter } from './server/postgres-adapter.js';
import { postgresArchiveChecker } from './verify/archive-checker.js';

/**
 * The WAL summarizer, its WAL parser loaded with the first file it summarizes: `log
 * archive` starts once per WAL segment, and everything else that starts never needs it.
 */
const summarizer: WalSummarizer = {
  async summarize(name, data, previous) {
    const { postgresWalSummarizer } = await import('./wal/wal-summarizer.js');
    return postgresWalSummarizer.summarize(name, data, previous);
  },
};

export const postgresEngine: Engine = Object.freeze<Engine>({
  adapter: (s) =>
    new PostgresAdapter({
      host: s.pg_host,
      port: s.pg_port,
      user: s.pg_user,
      database: s.pg_database,
      dataDir: s.pg_data,
    }),
  offline: postgresOffline,
  checker: postgresArchiveChecker,
  summarizer,
});
