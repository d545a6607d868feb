// The cross-version suite (test/suites/pg-major-suite.ts) on PostgreSQL 16.

import { majorSuite } from '../suites/pg-major-suite.js';

majorSuite(16, {
  set: 'small',
});
