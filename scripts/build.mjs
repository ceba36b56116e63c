#!/usr/bin/env node
// `npm run build`: everything the published package ships, into dist/.
//   1. tsc (tsconfig.build.json): lib/, bin/ and lambda/runtime/ to JavaScript + declarations.
//   2. esbuild, one invocation for every Lambda entry point (`lambda/**/index.ts` except the
//      libraries lambda/runtime and lambda/shared): minified, tree-shaken, Node 24, CommonJS,
//      source maps beside them, into dist/handlers/<path>/index.js. Constructs point at these
//      through lib/util/handler-code.ts, so no synth bundles anything (aws-cdk-lib ships its own
//      custom-resource handlers prebuilt the same way).
//
// Flags:
//   --handlers      only step 2 (what synth and the tests need)
//   --if-stale      skip a step whose outputs are newer than every input (mtime check, ~10 ms)
//   --quiet         print nothing unless something was rebuilt or failed
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const HANDLERS_OUT = join(DIST, 'handlers');
const LIBRARY_DIRS = new Set(['runtime', 'shared']); // imported by handlers, not entry points

const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((a) => !['--handlers', '--if-stale', '--quiet'].includes(a));
if (unknown.length > 0) {
  console.error(`build: unknown option(s) ${unknown.join(' ')} (known: --handlers --if-stale --quiet)`);
  process.exit(2);
}
const quiet = args.has('--quiet');
const say = (message) => {
  if (!quiet) console.log(`build: ${message}`);
};

/** Every file below `dir` whose name passes `keep`, skipping node_modules. */
function filesUnder(dir, keep = () => true) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path, keep));
    else if (keep(path)) found.push(path);
  }
  return found;
}

/** The Lambda entry points, found by glob so new handlers are picked up without editing this. */
export function handlerEntries() {
  return filesUnder(join(ROOT, 'lambda'), (p) => p.endsWith(`${sep}index.ts`))
    .filter((p) => !LIBRARY_DIRS.has(relative(join(ROOT, 'lambda'), p).split(sep)[0]))
    .sort();
}

const newest = (files) => Math.max(0, ...files.filter(existsSync).map((f) => statSync(f).mtimeMs));
const oldest = (files) => (files.every(existsSync) ? Math.min(...files.map((f) => statSync(f).mtimeMs)) : -1);

/** Source inputs of both steps: handlers import lib/ (migrations) and lambda/; tsc reads all. */
function inputs() {
  const ts = (p) => p.endsWith('.ts') && !p.endsWith('.d.ts');
  return [
    ...filesUnder(join(ROOT, 'lib'), ts),
    ...filesUnder(join(ROOT, 'lambda'), ts),
    ...filesUnder(join(ROOT, 'bin'), ts),
    join(ROOT, 'package-lock.json'),
    join(ROOT, 'tsconfig.json'),
    join(ROOT, 'tsconfig.build.json'),
    fileURLToPath(import.meta.url),
  ];
}

function isStale(stamp) {
  if (!args.has('--if-stale')) return true;
  return oldest([stamp]) < newest(inputs());
}

async function buildHandlers() {
  const stamp = join(HANDLERS_OUT, '.stamp');
  if (!isStale(stamp)) return false;
  const entries = handlerEntries();
  const { build } = await import('esbuild');
  rmSync(HANDLERS_OUT, { recursive: true, force: true });
  const started = Date.now();
  const result = await build({
    entryPoints: entries,
    outbase: join(ROOT, 'lambda'),
    outdir: HANDLERS_OUT,
    bundle: true,
    minify: true,
    treeShaking: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // Stack traces map to lambda/**/*.ts (functions run with NODE_OPTIONS=--enable-source-maps);
    // the sources themselves stay out of the package.
    sourcemap: 'linked',
    sourcesContent: false,
    // The AWS SDK is bundled like everything else: the versions we test, not the runtime's copy.
    // pg's optional native binding is never loaded (pure-JS client).
    external: ['pg-native'],
    logLevel: 'warning',
  });
  if (result.errors.length > 0) throw new Error(`esbuild failed for ${entries.length} entry points`);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  say(`${entries.length} Lambda handlers -> ${relative(ROOT, HANDLERS_OUT)}/ in ${Date.now() - started} ms`);
  return true;
}

function compileLibrary() {
  const stamp = join(DIST, '.tsc-stamp');
  if (!isStale(stamp)) return false;
  const started = Date.now();
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  if (tsc.status !== 0) throw new Error('tsc -p tsconfig.build.json failed (see above)');
  mkdirSync(DIST, { recursive: true });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  say(`lib/, bin/, lambda/runtime/ -> dist/ (JavaScript + declarations) in ${Date.now() - started} ms`);
  return true;
}

/**
 * The runtime library as ES modules too (dist/lambda/runtime/esm/, the `module` condition of the
 * `./runtime` export): bundlers tree-shake ES modules, not the CommonJS tsc writes, so a handler
 * that imports only createPoolFromEnv does not carry the cache client or Powertools. One file per
 * source file, nothing bundled; `sideEffects` in package.json lets the bundler drop unused ones.
 */
async function buildRuntimeModules() {
  const stamp = join(DIST, 'lambda', 'runtime', 'esm', '.stamp');
  if (!isStale(stamp)) return false;
  const { build } = await import('esbuild');
  const source = join(ROOT, 'lambda', 'runtime');
  await build({
    entryPoints: filesUnder(source, (p) => p.endsWith('.ts') && !p.endsWith('.d.ts')),
    outdir: join(DIST, 'lambda', 'runtime', 'esm'),
    outbase: source,
    bundle: false,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    logLevel: 'warning',
  });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  return true;
}

try {
  if (!args.has('--handlers')) {
    compileLibrary();
    await buildRuntimeModules();
  }
  await buildHandlers();
} catch (error) {
  console.error(`build: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
