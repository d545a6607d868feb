// The cross-version suite (test/suites/pg-major-suite.ts) on PostgreSQL 14.

import { majorSuite } from '../suites/pg-major-suite.js';

majorSuite(14, {
  set: 'small',
});
