// The WAL parser against pg_walinspect (test/suites/wal-walinspect-suite.ts) on PostgreSQL 18.

import { walInspectSuite } from '../suites/wal-walinspect-suite.js';

walInspectSuite(18);
