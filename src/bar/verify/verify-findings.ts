// What verify finds, as data until the report is made: a check gathers its problems as
// findings of the engine's checker (space, file, relation, block) or as lines of text;
// the relations' names are attached to the findings once every phase has run, and the
// text of each finding is made once, when the report is (renderChecks).

import type { ArchiveFinding } from '../../engine/engine.js';
import type { BarContext } from '../bar-context.js';

/** A finding of archive validation as verify reports it: the checker's, with the relation's names when the server gave them. */
export interface VerifyFinding extends ArchiveFinding {
  readonly names?: { readonly database: string; readonly relation: string | null };
}

/** One check of the report: its problems as text, and those that are findings also as data. */
export interface VerifyCheck {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
  readonly problems: readonly string[];
  /** the problems that are findings of pages and files, in the order of `problems` */
  readonly findings: readonly VerifyFinding[];
}

/** A problem as a check gathers it: a finding, or a line of text (a save set or WAL file that cannot be read, …). */
export type Problem = string | VerifyFinding;

/** A check as the phases make it: its problems still data. */
export interface CheckDraft {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
  readonly problems: readonly Problem[];
}

/** The most findings whose relations are named: the server is asked about each. */
const NAMED_MAX = 1000;

/** Adds database and relation names from the server to the findings that name a relation, when it is reachable (best effort, bounded in time). */
export async function nameRelations(ctx: BarContext, checks: readonly CheckDraft[]): Promise<CheckDraft[]> {
  const refs = checks
    .flatMap((c) => c.problems)
    .filter((p): p is VerifyFinding => typeof p !== 'string' && p.relation !== undefined)
    .slice(0, NAMED_MAX);
  if (refs.length === 0) return checks.slice();
  let names: Map<string, { database: string; relation: string | null }>;
  try {
    const engine = ctx.engine();
    names = await Promise.race([
      engine.relationNames(refs.map((f) => f.relation!)),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000).unref()),
    ]);
  } catch {
    return checks.slice(); // server down: the oids stand
  }
  const named = (p: Problem): Problem => {
    if (typeof p === 'string' || !p.relation) return p;
    const n = names.get(`${p.relation.dbOid}/${p.relation.relfilenode}`);
    return n ? { ...p, names: { database: n.database, relation: n.relation } } : p;
  };
  return checks.map((c) => ({ ...c, problems: c.problems.map(named) }));
}

/** The checks as the report has them: each finding's text made, the findings kept as data beside it. */
export function renderChecks(checks: readonly CheckDraft[]): VerifyCheck[] {
  return checks.map((c) => ({
    name: c.name,
    passed: c.passed,
    detail: c.detail,
    problems: c.problems.map((p) => (typeof p === 'string' ? p : describeFinding(p))),
    findings: c.problems.filter((p): p is VerifyFinding => typeof p !== 'string'),
  }));
}

/**
 * One line for a finding: where (space and relation, or file), which pages, what is wrong.
 * `space pg_default, database 5 (shop), relation public.orders (relfilenode 16384), page 7:
 * page checksum … (file base/5/16384)`; without names, the oids alone.
 */
export function describeFinding(f: VerifyFinding): string {
  const r = f.relation;
  const n = f.names;
  const database = r ? (r.dbOid === 0 ? '(shared)' : n ? `${r.dbOid} (${n.database})` : `${r.dbOid}`) : '';
  const relation = r
    ? n
      ? `relation ${n.relation ?? '(dropped since)'} (relfilenode ${r.relfilenode})`
      : `relfilenode ${r.relfilenode}`
    : '';
  const where = r
    ? `space ${f.space}, database ${database}, ${relation}${r.fork !== 'main' ? ` fork ${r.fork}` : ''}`
    : `space ${f.space}, file ${f.path}`;
  const page =
    f.block === undefined ? '' : f.lastBlock !== undefined ? `, pages ${f.block}..${f.lastBlock}` : `, page ${f.block}`;
  return `${where}${page}: ${f.problem}${r ? ` (file ${f.path})` : ''}`;
}
