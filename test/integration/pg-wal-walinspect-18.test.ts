// The WAL parser against pg_walinspect (test/suites/wal-walinspect-suite.ts) on PostgreSQL 18.

import { walInspectSuite } from '../suites/wal-walinspect-suite.js';

walInspectSuite(18, {
  todo: "the WAL parser does not read PostgreSQL 18's WAL yet (page magic 0xd118: format/wal-format.ts, engine session pg18-engine)",
});
