// The cross-version suite (test/suites/pg-major-suite.ts) on PostgreSQL 18.

import { majorSuite } from '../suites/pg-major-suite.js';

majorSuite(18, {
  set: 'full',
});
