// Bundles the CLI and its worker threads into dist/bundle, one file per thread's script:
// a cold start reads and compiles a few files instead of ~160 (on the development cluster a
// level 1 starts ~40 ms sooner and reaches the server's answer ~70 ms sooner). Run after tsc;
// it bundles tsc's output, so the code that ships is the code the type checker passed.
//
// The scripts are CommonJS (dist/bundle has a package.json saying so): `openbar.js` (the
// bin, src/cli/launch.ts) runs `openbar-cli.js` (the CLI) through vm.Script with a V8 code
// cache, which Node 20 offers for scripts only, not for ES modules. import.meta.url, used
// to find the worker scripts, is the script's own file URL.
//
// The scripts keep the paths they have relative to each other in dist/src, because the code
// finds them with `new URL('./…', import.meta.url)`: pool-worker.js and codec-kernels.js
// beside the code of common/io, wal-changes-worker.js beside that of engine/postgres/wal.
// Packages with native bindings stay in node_modules.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const outdir = path.join(root, 'dist/bundle');

/** script in dist/bundle (without .js) → tsc's output it is made from */
const bundleEntries: Readonly<Record<string, string>> = {
  openbar: 'dist/src/cli/launch.js',
  'openbar-cli': 'dist/src/cli/main.js',
  'pool-worker': 'dist/src/common/io/pool-worker.js',
  'codec-kernels': 'dist/src/common/io/codec-kernels.js',
  'wal-changes-worker': 'dist/src/engine/postgres/wal/wal-changes-worker.js',
};

fs.rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: bundleEntries,
  outdir,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: [
    'better-sqlite3',
    'zstd-napi',
    'lz4-napi',
    '@napi-rs/blake-hash',
    '@napi-rs/blake-hash-*',
    '@node-rs/crc32',
    '@node-rs/crc32-*',
    'pg-native',
  ],
  define: { 'import.meta.url': 'openbarScriptUrl' },
  banner: { js: "'use strict';\nconst openbarScriptUrl = require('node:url').pathToFileURL(__filename).href;" },
  // linked to the TypeScript sources through tsc's maps (node --enable-source-maps uses them)
  sourcemap: 'linked',
  logLevel: 'warning',
});
// esbuild's CommonJS output turns `import fs from 'node:fs'` into __toESM(require('node:fs')),
// which copies every export of the module onto a new object, once per importing module: 102
// such calls in the CLI, ~10 ms of every command's start. They share one object per module.
for (const script of Object.keys(bundleEntries)) {
  const file = path.join(outdir, `${script}.js`);
  const code = fs.readFileSync(file, 'utf8');
  const at = code.indexOf('\nvar __toESM = (');
  if (at < 0) continue;
  // the helpers are one `var __name = …` after the other: the next one ends this one
  const next = code.indexOf('\nvar ', at + 1);
  if (next < 0 || code.indexOf('\nvar __toESM = (', at + 1) >= 0)
    throw new Error(`${file}: esbuild's __toESM helper is not as expected`);
  fs.writeFileSync(
    file,
    code.slice(0, at) +
      code.slice(at, next).replace('\nvar __toESM = (', '\nvar __toESMCopy = (') +
      [
        '',
        '// one namespace object per module (build/bundle.ts)',
        'var __toESMDone = new WeakMap();',
        'var __toESM = (mod, isNodeMode) => {',
        "  if (mod == null || (typeof mod !== 'object' && typeof mod !== 'function')) return __toESMCopy(mod, isNodeMode);",
        '  let made = __toESMDone.get(mod);',
        '  if (!made) __toESMDone.set(mod, (made = []));',
        '  return (made[isNodeMode ? 1 : 0] ??= __toESMCopy(mod, isNodeMode));',
        '};',
      ].join('\n') +
      code.slice(next),
  );
}

// vm.Script runs the CLI without a loader for import(): every import must be bundled (or a require)
const dynamic = /(?<![\w$.])import\(/.exec(fs.readFileSync(path.join(outdir, 'openbar-cli.js'), 'utf8'));
if (dynamic)
  throw new Error(`dist/bundle/openbar-cli.js calls import() at offset ${dynamic.index}: use a static import`);
fs.writeFileSync(path.join(outdir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
fs.chmodSync(path.join(outdir, 'openbar.js'), 0o755);
