// The cross-version suite (test/suites/pg-major-suite.ts) on PostgreSQL 17.

import { majorSuite } from '../suites/pg-major-suite.js';

majorSuite(17, {
  set: 'small',
});
