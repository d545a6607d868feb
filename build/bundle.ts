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
// beside the code of common/io, wal/wal-changes-worker.js below that of engine/postgres.
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
  'wal/wal-changes-worker': 'dist/src/engine/postgres/wal/wal-changes-worker.js',
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
  external: ['better-sqlite3', 'zstd-napi', 'lz4-napi', '@napi-rs/blake-hash', '@napi-rs/blake-hash-*', '@node-rs/crc32', '@node-rs/crc32-*', 'pg-native'],
  define: { 'import.meta.url': 'openbarScriptUrl' },
  banner: { js: "'use strict';\nconst openbarScriptUrl = require('node:url').pathToFileURL(__filename).href;" },
  // linked to the TypeScript sources through tsc's maps (node --enable-source-maps uses them)
  sourcemap: 'linked',
  logLevel: 'warning',
});
// vm.Script runs the CLI without a loader for import(): every import must be bundled (or a require)
const dynamic = /(?<![\w$.])import\(/.exec(fs.readFileSync(path.join(outdir, 'openbar-cli.js'), 'utf8'));
if (dynamic) throw new Error(`dist/bundle/openbar-cli.js calls import() at offset ${dynamic.index}: use a static import`);
fs.writeFileSync(path.join(outdir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
fs.chmodSync(path.join(outdir, 'openbar.js'), 0o755);
