// The cross-version suite (test/suites/pg-major-suite.ts) on PostgreSQL 15.

import { majorSuite } from '../suites/pg-major-suite.js';

majorSuite(15, { set: 'full' });
