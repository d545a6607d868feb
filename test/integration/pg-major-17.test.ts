// The cross-version suite (test/suites/pg-major-suite.ts) on PostgreSQL 17.

import { majorSuite } from '../suites/pg-major-suite.js';

majorSuite(17, {
  set: 'small',
  todo: {
    'restore test':
      "verify --restore-test starts Debian's 15 server on the copy: it needs the pg_bin setting (or the backup's major) in server/restore-trial.ts, engine session pg18-engine",
  },
});
