import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Catalog } from './catalog.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-catalog-'));

describe('catalog at scale', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // The catalog gains a save set and a transaction with every archived WAL file: a year of
  // WAL is hundreds of thousands of rows. What every archive_command and every backup runs
  // (a transaction's start, commit and abort) must find its rows by an index, not by
  // walking them all. The statements are those of catalog.ts.
  it('starts, commits and aborts transactions by index, whatever the number of save sets', () => {
    const file = path.join(dir, 'catalog.db');
    Catalog.open(file, { create: true }).close();
    const db = new Database(file, { readonly: true });
    try {
      const plan = (sql: string) =>
        (
          db
            .prepare(`EXPLAIN QUERY PLAN ${sql}`)
            .all(...Array.from({ length: sql.split('?').length - 1 }, () => 1)) as { detail: string }[]
        )
          .map((r) => r.detail)
          .join(' | ');
      const hot = [
        "UPDATE savesets SET state = 'committed', committed = ? WHERE txn = ?",
        "DELETE FROM fragments WHERE saveset IN (SELECT id FROM savesets WHERE txn = ? AND state = 'writing')",
        "DELETE FROM savesets WHERE txn = ? AND state = 'writing'",
        "SELECT DISTINCT owner AS o FROM txns WHERE state = 'open'",
        "SELECT id FROM txns WHERE owner = ? AND state = 'open'",
        "SELECT * FROM savesets s WHERE s.state = 'committed' AND s.server = ? AND s.kind = ? AND s.name = ? ORDER BY s.id",
      ];
      for (const sql of hot) {
        const p = plan(sql);
        assert.doesNotMatch(
          p,
          /\bSCAN (savesets|txns|s)\b(?! USING (COVERING )?INDEX)/,
          `${sql}\n  plans a walk over every row: ${p}`,
        );
      }
      // a WAL file's save sets by name (its data and its summary), as a level 1 asks for
      // each archived segment since its base: not every save set of the server
      const byName = plan(
        "SELECT * FROM savesets s WHERE s.state = 'committed' AND s.server = ? AND s.name = ? ORDER BY s.id",
      );
      assert.match(
        byName,
        /USING INDEX \w+ \(server=\? AND name=\?\)/,
        `the lookup by name walks the server's save sets: ${byName}`,
      );
    } finally {
      db.close();
    }
  });
});
