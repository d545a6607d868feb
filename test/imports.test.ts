// The architecture's arrows, checked on the source: every import of every file under
// src/ is read and judged. Layers: cli (and server) -> bar -> engine | sm | history ->
// common, never upward; an implementation (engine/postgres, sm/local, sm/memory, …) is
// imported only from inside itself and by the composition root; a few packages stay
// where they belong (SQLite out of bar, the PostgreSQL client in engine/postgres). Tests
// under src/ are held to the layers only: they may import concrete implementations.
// The arrows the tree has against these rules are listed below, each with why: what is
// left once the composition root (cli/context.ts) builds the engine and the storage
// manager, tools that are one implementation's by nature. A new one fails this test; so
// does an entry that no longer matches anything (remove it: the list must stay true).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What each layer may import of ours, itself included. */
const mayImport: Readonly<Record<string, readonly string[]>> = {
  cli: ['cli', 'server', 'bar', 'engine', 'sm', 'history', 'common'],
  server: ['server', 'bar', 'engine', 'sm', 'history', 'common'],
  bar: ['bar', 'engine', 'sm', 'history', 'common'],
  engine: ['engine', 'common'],
  sm: ['sm', 'common'],
  history: ['history', 'common'],
  common: ['common'],
};

/** The file that builds the concrete engine and storage manager a command works with. */
const compositionRoot: readonly string[] = ['src/cli/context.ts'];

/** Packages only some areas may import (an area is a layer, or an implementation such as sm/local). */
const packageHomes: Readonly<Record<string, readonly string[]>> = {
  'better-sqlite3': ['sm/local', 'history', 'common'],
  pg: ['engine/postgres'],
  commander: ['cli'],
};

/**
 * The forbidden arrows the tree has: importing file, and the area it reaches (a layer,
 * an implementation, or `package:NAME`). Each is a tool of one implementation, not a use
 * of a port: the demo's sandbox clusters, the local storage manager's own administration.
 */
const allowed: readonly { from: string; to: string; why: string }[] = [
  {
    from: 'src/cli/commands/demo-postgres.ts',
    to: 'engine/postgres',
    why: 'the demo starts sandbox clusters (SandboxCluster, runPg): a PostgreSQL tool for the walk-through, not a use of the engine',
  },
  {
    from: 'src/cli/commands/sm/sm-bootstrap.ts',
    to: 'sm/local',
    why: "the bootstrap is the local storage manager's own (saveBootstrap copies its catalog file, recoverFromBootstrap rebuilds one from its volumes): no interface of the storage manager has it",
  },
  {
    from: 'src/cli/commands/sm/sm-scan.ts',
    to: 'sm/local',
    why: "sm scan reads the local storage manager's volume files (rebuildLocalCatalog, VolumeScan, LABEL_SIZE): local-storage administration with no interface",
  },
];

interface Arrow {
  readonly from: string;
  readonly to: string;
  readonly spec: string;
  readonly rule: string;
}

describe('import arrows', () => {
  const arrows = forbiddenArrows();

  it('no forbidden import besides the listed ones', () => {
    const isAllowed = (a: Arrow) => allowed.some((x) => x.from === a.from && x.to === a.to);
    const fresh = arrows.filter((a) => !isAllowed(a));
    assert.deepEqual(
      fresh.map((a) => `${a.from} imports '${a.spec}' (${a.to}): ${a.rule}`),
      [],
    );
  });

  it('every listed exception still exists (a mended one leaves the list)', () => {
    const stale = allowed.filter((x) => !arrows.some((a) => a.from === x.from && a.to === x.to));
    assert.deepEqual(
      stale.map((x) => `${x.from} -> ${x.to}`),
      [],
    );
  });

  it('reads imports of every form (the reader is not blind)', () => {
    const text = `// import x from '../comment.js'\nimport type { A,\n  B } from '../a.js';\nimport '../side.js';\nexport * from "../b.js";\nexport { c } from '../c.js';\nconst m = await import('../d.js');\nconst s = '// not a comment';\nimport e from 'pkg/sub';\n`;
    assert.deepEqual(importsOf(text), ['../a.js', '../side.js', '../b.js', '../c.js', 'pkg/sub', '../d.js']);
  });
});

function forbiddenArrows(): Arrow[] {
  const out: Arrow[] = [];
  for (const file of sourceFiles(path.join(repo, 'src'))) {
    const from = path.relative(repo, file).split(path.sep).join('/');
    const isTest = from.endsWith('.test.ts');
    for (const spec of importsOf(fs.readFileSync(file, 'utf8'))) {
      const target = resolve(from, spec);
      if (target === undefined) continue; // node: built-ins
      if (isTest && !target.startsWith('src/') && !target.startsWith('package:')) continue;
      if (isTest && target.startsWith('package:')) continue;
      const rule = judge(from, target, isTest);
      if (rule) out.push({ from, to: areaOf(target), spec, rule });
    }
  }
  return out;
}

/** Why `from` must not import `target` (a repo path, or `package:NAME`), or undefined. */
function judge(from: string, target: string, isTest: boolean): string | undefined {
  const layer = layerOf(from);
  if (target.startsWith('package:')) {
    const homes = packageHomes[target.slice('package:'.length)];
    return homes && !homes.some((h) => within(from, `src/${h}`))
      ? `only ${homes.join(', ')} may use this package`
      : undefined;
  }
  if (!target.startsWith('src/')) return 'source must not import from outside src/';
  const to = layerOf(target);
  if (!(mayImport[layer] ?? []).includes(to)) return `${layer} must not import ${to}`;
  const impl = implementationOf(target);
  if (impl === undefined || isTest || within(from, `src/${impl}`) || compositionRoot.includes(from)) return undefined;
  return `only the composition root (${compositionRoot.join(', ')}) imports an implementation`;
}

/** `src/bar/x.ts` -> bar */
function layerOf(p: string): string {
  return p.split('/')[1] ?? '';
}

/** engine/postgres, sm/local, …: a folder below engine/ or sm/; undefined for the interfaces beside them */
function implementationOf(p: string): string | undefined {
  const parts = p.split('/');
  return (parts[1] === 'engine' || parts[1] === 'sm') && parts.length > 3 ? `${parts[1]}/${parts[2]}` : undefined;
}

/** What an arrow reaches, as the allow-list names it: an implementation, a layer, or a package. */
function areaOf(target: string): string {
  return target.startsWith('package:') ? target : (implementationOf(target) ?? layerOf(target));
}

function within(file: string, dir: string): boolean {
  return file.startsWith(`${dir}/`);
}

/** A specifier as a repo path (`src/…/x.ts`) or `package:NAME`; undefined for node built-ins. */
function resolve(from: string, spec: string): string | undefined {
  if (spec.startsWith('node:')) return undefined;
  if (spec.startsWith('.'))
    return path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.js$/, '.ts');
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
  return `package:${name}`;
}

/** Module specifiers of static imports and re-exports, then dynamic ones; comments are not read. */
function importsOf(source: string): string[] {
  const code = withoutComments(source);
  const found: string[] = [];
  for (const m of code.matchAll(
    /(?:^|[;\n])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s*)?(['"])([^'"\n]+)\1/g,
  ))
    found.push(m[2]!);
  for (const m of code.matchAll(/\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g)) found.push(m[2]!);
  return found;
}

/** The source with comments blanked out; strings and template literals kept as they are. */
function withoutComments(s: string): string {
  let out = '';
  for (let i = 0; i < s.length;) {
    const c = s[i]!;
    if (c === '/' && s[i + 1] === '/') {
      while (i < s.length && s[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && s[i + 1] === '*') {
      const end = s.indexOf('*/', i + 2);
      i = end < 0 ? s.length : end + 2;
      out += ' ';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < s.length && s[j] !== c) j += s[j] === '\\' ? 2 : 1;
      out += s.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) return sourceFiles(p);
      return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [p] : [];
    })
    .sort();
}
