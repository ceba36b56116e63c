// `npm run bench [-- --runs N] [-- --check] [-- --skip-tests]`
// Measures what users wait on: cdk synth (against an empty app), the test suite, Lambda bundle
// sizes and module init time, CLI start-up, and the API's request path against its floor
// (bench/request-path.ts; needs the local PostgreSQL and Redis). Prints a markdown table, writes
// bench/results.json and bench/results.md, and refreshes the table in README.md.
// With --check, exits 1 when a budget is exceeded.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type RequestPathBench, table as requestPathTable } from './request-path';

const ROOT = resolve(__dirname, '..');
const CDK = join(ROOT, 'node_modules', '.bin', 'cdk');
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    check: { type: 'boolean', default: false },
    'skip-tests': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 20)
  throw new Error(`--runs must be 1-20, got ${args.runs}`);

/** Budgets from issue 11. */
const BUDGET = {
  synthRatio: 1.5,
  testSeconds: 90,
  apiBundleKb: 400,
  initMs: 150,
  cliHelpSeconds: 0.5,
  /** Issue 19: the handler's p50 at most this many times the floor's, for each request path. */
  requestPathRatio: 1.5,
};

interface Stat {
  median: number;
  min: number;
  max: number;
}
function stat(samples: number[]): Stat {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}
const fmt = (s: Stat, unit: string, digits = 2) =>
  `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

/** Runs a command, fails loudly if it fails, returns wall seconds and stdout. */
function timed(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv = {},
): { seconds: number; stdout: string } {
  const started = performance.now();
  const r = spawnSync(cmd, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}\n${r.stderr?.slice(-4000)}`);
  }
  return { seconds, stdout: r.stdout };
}

/**
 * Runs a command through bash and also returns the CPU seconds (user + system) it and its
 * children used (bash's `times`): on a machine shared with other jobs, CPU time is the steadier
 * measure; wall time is what a user waits.
 */
function timedCpu(argv: string[]): { seconds: number; cpuSeconds: number; stdout: string } {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const { seconds, stdout } = timed('bash', [
    '-c',
    `${quoted} >/tmp/.bench-out-$$ 2>&1; s=$?; cat /tmp/.bench-out-$$; rm -f /tmp/.bench-out-$$; times; exit $s`,
  ]);
  const lines = stdout.trimEnd().split('\n');
  const children = lines[lines.length - 1].match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/);
  if (!children) throw new Error(`could not read CPU times from: ${lines[lines.length - 1]}`);
  const cpuSeconds =
    Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4]);
  return { seconds, cpuSeconds, stdout: lines.slice(0, -2).join('\n') };
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

// ---------------------------------------------------------------- synth
interface SynthPhases {
  moduleLoad: number;
  construct: number;
  validation: number;
  policyPacks: number;
  synthesis: number;
  total: number;
}
interface SynthProfile extends SynthPhases {
  cpu: SynthPhases;
}

function benchSynth() {
  // The prebuilt handlers must be current, so the runs measure synth, not `npm run build`
  // (cdk.json's app runs the same staleness check; it finds nothing to do).
  timed(process.execPath, ['scripts/build.mjs', '--handlers', '--if-stale', '--quiet']);
  const empty: number[] = [];
  const full: number[] = [];
  const emptyCpu: number[] = [];
  const fullCpu: number[] = [];
  let lastFullOut = '';
  for (let i = 0; i < RUNS; i++) {
    // Alternate, so drift in machine load hits both sides alike. Cold: a fresh output dir. Both
    // apps run through the same CLI and the same TypeScript runner (tsx).
    const emptyOut = mkdtempSync(join(tmpdir(), 'bench-empty-'));
    const emptyRun = timedCpu([
      CDK,
      'synth',
      '--quiet',
      '--app',
      'npx tsx bench/empty-app.ts',
      '-o',
      emptyOut,
    ]);
    empty.push(emptyRun.seconds);
    emptyCpu.push(emptyRun.cpuSeconds);
    rmSync(emptyOut, { recursive: true, force: true });
    const fullOut = mkdtempSync(join(tmpdir(), 'bench-full-'));
    const run = timedCpu([CDK, 'synth', '**', '--quiet', '-o', fullOut]);
    full.push(run.seconds);
    fullCpu.push(run.cpuSeconds);
    if (/Bundling asset|esbuild/i.test(run.stdout)) throw new Error('cdk synth bundled something');
    if (lastFullOut) rmSync(lastFullOut, { recursive: true, force: true });
    lastFullOut = fullOut;
    log(
      `synth run ${i + 1}/${RUNS}: empty ${empty[i].toFixed(2)}s (${emptyCpu[i].toFixed(2)}s CPU), app ${full[i].toFixed(2)}s (${fullCpu[i].toFixed(2)}s CPU)`,
    );
  }
  const profiles: SynthProfile[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { stdout } = timed(join(ROOT, 'node_modules', '.bin', 'tsx'), ['bench/synth-profile.ts']);
    profiles.push(JSON.parse(stdout) as SynthProfile);
  }
  const median = (key: keyof SynthPhases) => stat(profiles.map((p) => p[key] / 1000)).median;
  const medianCpu = (key: keyof SynthPhases) => stat(profiles.map((p) => p.cpu[key] / 1000)).median;
  const emptyStat = stat(empty);
  const fullStat = stat(full);
  return {
    empty: emptyStat,
    app: fullStat,
    ratio: fullStat.median / emptyStat.median,
    emptyCpu: stat(emptyCpu),
    appCpu: stat(fullCpu),
    cpuRatio: stat(fullCpu).median / stat(emptyCpu).median,
    profileSeconds: {
      moduleLoad: median('moduleLoad'),
      construct: median('construct'),
      validation: median('validation'),
      policyPacks: median('policyPacks'),
      synthesis: median('synthesis'),
      total: median('total'),
    },
    profileCpuSeconds: {
      moduleLoad: medianCpu('moduleLoad'),
      construct: medianCpu('construct'),
      validation: medianCpu('validation'),
      policyPacks: medianCpu('policyPacks'),
      synthesis: medianCpu('synthesis'),
      total: medianCpu('total'),
    },
    assemblyDir: lastFullOut,
  };
}

// ---------------------------------------------------------------- package
/** What `npm pack` would publish (dist/ must be built; `npm run bench` builds what is stale). */
function benchPackage() {
  timed(process.execPath, ['scripts/build.mjs', '--if-stale', '--quiet']);
  const { stdout } = timed('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
  const [packed] = JSON.parse(stdout) as Array<{ size: number; unpackedSize: number; entryCount: number }>;
  return { tarballKb: packed.size / 1024, unpackedKb: packed.unpackedSize / 1024, files: packed.entryCount };
}

// ---------------------------------------------------------------- tests
function benchTests() {
  const report = join(mkdtempSync(join(tmpdir(), 'bench-jest-')), 'report.json');
  const { seconds } = timed('npm', ['test', '--', '--json', `--outputFile=${report}`, '--silent']);
  const json = JSON.parse(readFileSync(report, 'utf8')) as {
    numTotalTests: number;
    testResults: Array<{ name: string; startTime: number; endTime: number }>;
  };
  const slowest = json.testResults
    .map((r) => ({ file: r.name.replace(`${ROOT}/`, ''), seconds: (r.endTime - r.startTime) / 1000 }))
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, 5);
  return { seconds, tests: json.numTotalTests, slowest };
}

// ---------------------------------------------------------------- lambdas
interface LambdaBench {
  function: string;
  bundleKb: number;
  sourceMapKb: number;
  init: Stat;
}

/**
 * The function's environment from the template, with CloudFormation references (unknown until
 * deploy) replaced by an ARN-shaped placeholder, so modules that validate their environment at
 * load time initialise as they would on Lambda.
 */
function placeholderFor(name: string): string {
  if (name.endsWith('_ARN')) return 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:bench-AbCdEf';
  if (name.endsWith('_URL')) return 'https://bench.example.com';
  if (name.endsWith('_ID')) return 'E2BENCHPLACEHOLDER';
  if (name.endsWith('_PORT')) return '5432';
  return 'bench.example.internal';
}

function environmentOf(resource: { Properties?: { Environment?: { Variables?: Record<string, unknown> } } }) {
  const variables = resource.Properties?.Environment?.Variables ?? {};
  return Object.fromEntries(
    Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : placeholderFor(k)]),
  );
}
function findTemplates(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name.startsWith('assembly-')) found.push(...findTemplates(path));
    else if (entry.name.endsWith('.template.json')) found.push(path);
  }
  return found;
}
function benchLambdas(assemblyDir: string): LambdaBench[] {
  const seen = new Map<string, string>();
  const environments = new Map<string, Record<string, string>>();
  for (const file of findTemplates(assemblyDir)) {
    const template = JSON.parse(readFileSync(file, 'utf8')) as {
      Resources: Record<
        string,
        {
          Type: string;
          Metadata?: Record<string, string | boolean>;
          Properties?: { Environment?: { Variables?: Record<string, unknown> } };
        }
      >;
    };
    for (const resource of Object.values(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const asset = resource.Metadata?.['aws:asset:path'] as string | undefined;
      const path = String(resource.Metadata?.['aws:cdk:path'] ?? '');
      // Only our handlers (prebuilt from lambda/ with a source map): CDK's own providers differ.
      if (!asset || !existsSync(join(file, '..', asset, 'index.js.map'))) continue;
      const name = path.split('/').slice(2, -1).join('/');
      const dir = join(file, '..', asset);
      if (!seen.has(dir) || name.length < (seen.get(dir) ?? '').length) seen.set(dir, name);
      environments.set(dir, environmentOf(resource));
    }
  }
  const results: LambdaBench[] = [];
  for (const [dir, name] of seen) {
    const entry = ['index.js', 'index.mjs'].map((f) => join(dir, f)).find((f) => existsSync(f));
    if (!entry) continue;
    const map = `${entry}.map`;
    const samples: number[] = [];
    for (let i = 0; i < Math.max(RUNS, 5); i++) {
      // A fresh Node process per sample: module initialisation, the cold-start share we control.
      const { stdout } = timed(
        process.execPath,
        [
          '-e',
          `const t=performance.now();require(${JSON.stringify(entry)});process.stdout.write(String(performance.now()-t));`,
        ],
        {
          ...environments.get(dir),
          // Modules resolve from the bundle; anything left external comes from node_modules.
          NODE_PATH: join(ROOT, 'node_modules'),
          NODE_OPTIONS: '',
          AWS_REGION: 'eu-west-1',
          AWS_LAMBDA_FUNCTION_NAME: 'bench',
          POWERTOOLS_DEV: 'false',
        },
      );
      samples.push(Number(stdout));
    }
    results.push({
      function: name,
      bundleKb: statSync(entry).size / 1024,
      sourceMapKb: existsSync(map) ? statSync(map).size / 1024 : 0,
      init: stat(samples),
    });
  }
  return results.sort((a, b) => a.function.localeCompare(b.function));
}

// ---------------------------------------------------------------- CLI
function benchCli() {
  const help: number[] = [];
  const dryRun: number[] = [];
  // Mocked AWS: the in-memory environment of the CLI tests, preloaded; fake credentials so the
  // SDK's credential chain resolves without an account.
  const mocked = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench' };
  const preload = ['-r', 'tsx/cjs', '-r', './bench/cli-mocked-aws.ts'];
  for (let i = 0; i < Math.max(RUNS, 5); i++) {
    help.push(timed(process.execPath, ['dist/bin/shipshape.js', '--help']).seconds);
    const argv = [...preload, 'dist/bin/shipshape.js', 'rollback', '--env', 'staging', '--dry-run'];
    dryRun.push(timed(process.execPath, argv, mocked).seconds);
  }
  return { help: stat(help), rollbackDryRun: stat(dryRun) };
}

// ---------------------------------------------------------------- request path
/** In a process of its own (it creates and drops its own database, role and cache keys). */
function benchRequestPath(): RequestPathBench {
  const { stdout } = timed(join(ROOT, 'node_modules', '.bin', 'tsx'), [
    'bench/request-path.ts',
    '--json',
    '--samples',
    String(Math.max(600, RUNS * 200)),
  ]);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as RequestPathBench;
}

// ---------------------------------------------------------------- main
function main() {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${loadavg()[0].toFixed(1)} at start`;
  log(`machine: ${machine}; ${RUNS} runs`);
  const synth = benchSynth();
  const lambdas = benchLambdas(synth.assemblyDir);
  rmSync(synth.assemblyDir, { recursive: true, force: true });
  const pkg = benchPackage();
  const cli = benchCli();
  const requestPath = benchRequestPath();
  const tests = args['skip-tests'] ? undefined : benchTests();

  const api = lambdas.find((l) => /^Service\//.test(l.function));
  const checks: Array<{ budget: string; measured: string; ok: boolean }> = [
    {
      budget: `synth ≤ ${BUDGET.synthRatio}× empty app`,
      measured: `${synth.ratio.toFixed(2)}×`,
      ok: synth.ratio <= BUDGET.synthRatio,
    },
    {
      budget: `npm test ≤ ${BUDGET.testSeconds} s`,
      measured: tests ? `${tests.seconds.toFixed(1)} s` : 'skipped',
      ok: !tests || tests.seconds <= BUDGET.testSeconds,
    },
    {
      budget: `API bundle ≤ ${BUDGET.apiBundleKb} KB`,
      measured: api ? `${api.bundleKb.toFixed(0)} KB` : 'no API function found',
      ok: api !== undefined && api.bundleKb <= BUDGET.apiBundleKb,
    },
    {
      budget: `every handler init ≤ ${BUDGET.initMs} ms`,
      measured: lambdas.length
        ? `max ${Math.max(...lambdas.map((l) => l.init.median)).toFixed(0)} ms`
        : 'no handlers',
      ok: lambdas.every((l) => l.init.median <= BUDGET.initMs),
    },
    ...requestPath.results.map((r) => ({
      budget: `${r.name}: p50 ≤ ${BUDGET.requestPathRatio}× floor`,
      measured: `${r.ratioP50.toFixed(2)}×`,
      ok: r.ratioP50 <= BUDGET.requestPathRatio,
    })),
    {
      budget: `CLI --help ≤ ${BUDGET.cliHelpSeconds} s`,
      measured: `${cli.help.median.toFixed(2)} s`,
      ok: cli.help.median <= BUDGET.cliHelpSeconds,
    },
  ];

  const md = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; median (min–max) of ${RUNS}+ runs.`,
    '',
    '| what | measured |',
    '| --- | --- |',
    `| \`cdk synth '**'\`, whole app (cold) | ${fmt(synth.app, ' s')} |`,
    `| \`cdk synth\`, empty one-stack app (cold) | ${fmt(synth.empty, ' s')} |`,
    `| ratio (wall time) | ${synth.ratio.toFixed(2)}× |`,
    `| CPU time: whole app / empty app | ${fmt(synth.appCpu, ' s')} / ${fmt(synth.emptyCpu, ' s')} = ${synth.cpuRatio.toFixed(2)}× |`,
    `| in-process synth of the app, wall / CPU | ${synth.profileSeconds.total.toFixed(2)} s / ${synth.profileCpuSeconds.total.toFixed(2)} s |`,
    ...(
      [
        ['loading modules (aws-cdk-lib, cdk-nag, cdk-monitoring-constructs, ours)', 'moduleLoad'],
        ['construct code (building the tree)', 'construct'],
        ['built-in CloudFormation validation', 'validation'],
        ['policy packs (cdk-nag, ProductionReadinessChecks)', 'policyPacks'],
        ['synthesis (tokens, templates, asset staging)', 'synthesis'],
      ] as const
    ).map(
      ([what, key]) =>
        `| of which ${what}, wall / CPU | ${synth.profileSeconds[key].toFixed(2)} s / ${synth.profileCpuSeconds[key].toFixed(2)} s |`,
    ),
    `| package: tarball / unpacked / files | ${pkg.tarballKb.toFixed(0)} KB / ${pkg.unpackedKb.toFixed(0)} KB / ${pkg.files} |`,
    ...(tests
      ? [
          `| \`npm test\` (${tests.tests} tests) | ${tests.seconds.toFixed(1)} s |`,
          ...tests.slowest.map((t) => `| slow test file: \`${t.file}\` | ${t.seconds.toFixed(1)} s |`),
        ]
      : []),
    ...lambdas.map(
      (l) =>
        `| Lambda \`${l.function}\`: bundle / source map / init | ${l.bundleKb.toFixed(0)} KB / ${l.sourceMapKb.toFixed(0)} KB / ${fmt(l.init, ' ms', 0)} |`,
    ),
    `| \`shipshape --help\` | ${fmt(cli.help, ' s')} |`,
    `| \`shipshape rollback --env staging --dry-run\` (mocked AWS) | ${fmt(cli.rollbackDryRun, ' s')} |`,
    '',
    requestPathTable(requestPath),
    '',
    '| budget | measured | |',
    '| --- | --- | --- |',
    ...checks.map((c) => `| ${c.budget} | ${c.measured} | ${c.ok ? 'ok' : '**over**'} |`),
  ].join('\n');

  writeFileSync(
    join(ROOT, 'bench', 'results.json'),
    `${JSON.stringify({ machine, runs: RUNS, synth: { ...synth, assemblyDir: undefined }, package: pkg, tests, lambdas, cli, requestPath, checks }, null, 2)}\n`,
  );
  writeFileSync(join(ROOT, 'bench', 'results.md'), `${md}\n`);
  const readmePath = join(ROOT, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const marked = /(<!-- bench:start -->\n)[\s\S]*?(<!-- bench:end -->)/;
  if (marked.test(readme)) {
    writeFileSync(readmePath, readme.replace(marked, `$1${md}\n$2`));
    // Keep the README as `npm run lint` wants it (prettier aligns the table).
    timed(join(ROOT, 'node_modules', '.bin', 'prettier'), ['--write', 'README.md']);
  }
  console.log(md);

  const failed = checks.filter((c) => !c.ok);
  if (args.check && failed.length > 0) {
    console.error(`\nbench: ${failed.length} budget(s) exceeded: ${failed.map((c) => c.budget).join('; ')}`);
    process.exit(1);
  }
}

main();
