// The cross-version suite (test/suites/pg-major-suite.ts) on PostgreSQL 18.

import { majorSuite } from '../suites/pg-major-suite.js';

majorSuite(18, {
  set: 'full',
  todo: {
    'level 1 by wal':
      "the WAL parser does not read PostgreSQL 18's WAL yet (page magic 0xd118: format/wal-format.ts, engine session pg18-engine)",
    'restore test':
      "verify --restore-test starts Debian's 15 server on the copy: it needs the pg_bin setting (or the backup's major) in server/restore-trial.ts, engine session pg18-engine",
  },
});
