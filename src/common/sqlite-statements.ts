// Prepared statements by their SQL text, prepared once per connection: better-sqlite3
// parses and plans the SQL at every prepare (10-50 µs), and a backup runs the catalog's and
// the history's few dozen statements over and over. Not for statements that are iterated
// while the same text runs again (none are).

import type Database from 'better-sqlite3';

export class Statements {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }
}
