// The cross-version suite (test/suites/pg-major-suite.ts) on PostgreSQL 13.

import { majorSuite } from '../suites/pg-major-suite.js';

majorSuite(13, {
  set: 'small',
});
