#!/usr/bin/env node
// `npm run test:consumer`: uses Shipshape the way a platform team does, with no access to this
// repository's sources.
//   1. `npm pack` (the prepack script builds dist/), and report the tarball's sizes;
//   2. a fresh project in a temporary directory installs the tarball plus aws-cdk-lib, constructs
//      and the CDK CLI from the registry (npm adds the peer dependencies cdk-nag and
//      cdk-monitoring-constructs itself);
//   3. compiles examples/platform-team/app.ts (the example docs/packaging.md shows) there with TypeScript;
//   4. runs `cdk synth` and asserts on the template: the constructs built on the consumer's own
//      VPC, database and alias, with the prebuilt handlers staged as-is (nothing bundled);
//   5. runs `npx shipshape --help` and `--version` from that project.
// A separate CI step, not part of `npm test`: it installs from the registry and takes a minute or
// two, which the edit-test loop should not pay.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CDK_LIB = '2.276.0';
const CONSTRUCTS = '10.8.1';
const CDK_CLI = '2.1148.1';
const EXAMPLE = join(ROOT, 'examples', 'platform-team', 'app.ts');
const keep = process.argv.includes('--keep');

const started = Date.now();
const step = (message) =>
  console.log(`consumer-test: ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
const failures = [];
const check = (ok, message) => {
  if (!ok) failures.push(message);
};

function run(command, args, cwd, env = {}) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.status}\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`,
    );
  }
  return result.stdout;
}

// docs/packaging.md's "Use the constructs in your own app" shows this very example: its ```ts
// block must be the file, character for character, so the shown example is the one compiled.
const example = readFileSync(EXAMPLE, 'utf8');
const GUIDE = join(ROOT, 'docs', 'packaging.md');
const shown = shownExample(readFileSync(GUIDE, 'utf8'));
if (shown !== example) {
  console.error(
    `consumer-test: ${shown === undefined ? 'docs/packaging.md has no ```ts block under "## Use the constructs in your own app"' : 'the example in docs/packaging.md differs from examples/platform-team/app.ts'}; copy the file into that section verbatim.`,
  );
  process.exit(1);
}

/** The first ```ts block of the "Use the constructs in your own app" section of a markdown page. */
function shownExample(markdown) {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Use the constructs in your own app\n'));
  return section?.match(/```ts\n([\s\S]*?)```/)?.[1];
}

const work = mkdtempSync(join(tmpdir(), 'shipshape-consumer-'));
try {
  // 1. Build what is stale, then pack (the prepack build is skipped: its output would mix with the JSON).
  run(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--if-stale'], ROOT);
  const [packed] = JSON.parse(
    run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT),
  );
  const tarball = join(work, packed.filename);
  step(
    `packed ${packed.filename}: ${(packed.size / 1024).toFixed(0)} KB tarball, ${(packed.unpackedSize / 1024).toFixed(0)} KB unpacked, ${packed.entryCount} files`,
  );
  const files = packed.files.map((f) => f.path);
  check(!files.some((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')), 'the tarball holds TypeScript sources');
  check(
    !files.some((f) => f.startsWith('test/') || f.startsWith('lambda/')),
    'the tarball holds tests or handler sources',
  );
  check(files.includes('dist/handlers/api/index.js'), 'the tarball lacks the prebuilt API handler');

  // 2. A fresh project: the tarball plus the CDK from the registry, nothing from this repository.
  const project = join(work, 'app');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'platform-team-app', version: '1.0.0', private: true }, null, 2),
  );
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      `aws-cdk-lib@${CDK_LIB}`,
      `constructs@${CONSTRUCTS}`,
      `aws-cdk@${CDK_CLI}`,
    ],
    project,
  );
  step('installed the tarball, aws-cdk-lib, constructs and aws-cdk into a fresh project');
  const resolved = run(process.execPath, ['-p', "require.resolve('@shipshape/cdk')"], project).trim();
  check(
    resolved.startsWith(join(project, 'node_modules')),
    `@shipshape/cdk resolved outside the project: ${resolved}`,
  );
  check(
    !existsSync(join(project, 'node_modules', 'esbuild')),
    'esbuild was installed: synth must not need it',
  );

  // 3. Compile the example with TypeScript (the compiler is a tool; every import resolves in the project).
  writeFileSync(join(project, 'app.ts'), example);
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['app.ts'],
    }),
  );
  run(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
    project,
  );
  step('compiled app.ts');

  // 4. Synthesize and assert.
  writeFileSync(join(project, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));
  const synth = spawnSync('npx', ['cdk', 'synth', '--quiet'], {
    cwd: project,
    encoding: 'utf8',
    // No credentials: synth must need none.
    env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' },
  });
  if (synth.status !== 0) throw new Error(`cdk synth failed:\n${synth.stdout}\n${synth.stderr}`);
  check(!/esbuild|Bundling asset/i.test(synth.stdout + synth.stderr), 'cdk synth bundled something');
  step('cdk synth');
  const out = join(project, 'cdk.out');
  const template = JSON.parse(readFileSync(join(out, 'Platform.template.json'), 'utf8'));
  const resources = Object.entries(template.Resources);
  const ofType = (type) => resources.filter(([, r]) => r.Type === type);
  const ref = (value) => JSON.stringify(value);
  const [[instanceId]] = ofType('AWS::RDS::DBInstance');
  const [[aliasId]] = ofType('AWS::Lambda::Alias');

  // RestoreVerification on the team's own instance: the state machine that restores it, and the
  // one that cleans up after an execution that failed, timed out or was aborted.
  check(
    ofType('AWS::StepFunctions::StateMachine').length === 2,
    'no restore-verification and cleanup state machines',
  );
  check(
    ofType('AWS::Events::Rule').some(([, r]) => ref(r).includes('Step Functions Execution Status Change')),
    'no rule starts the restore-verification cleanup when an execution ends badly',
  );
  check(
    ofType('AWS::IAM::Policy').some(
      ([, p]) => ref(p).includes('rds:RestoreDBInstanceToPointInTime') && ref(p).includes(instanceId),
    ),
    'no policy lets restore verification restore the consumer database',
  );
  // SafeDeployment on the team's own alias.
  const groups = ofType('AWS::CodeDeploy::DeploymentGroup');
  check(groups.length === 1, 'no CodeDeploy deployment group');
  check(
    ref(template.Resources[aliasId]).includes('UpdatePolicy') ||
      ref(template.Resources[aliasId].UpdatePolicy ?? {}).includes('CodeDeployLambdaAliasUpdate'),
    'the alias is not deployed through CodeDeploy',
  );
  // BurnRateSlo on the team's own metrics: composite alarms over Errors/Invocations of the alias.
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => ref(a));
  check(ofType('AWS::CloudWatch::CompositeAlarm').length >= 3, 'fewer than 3 burn-rate composite alarms');
  check(
    alarms.some((a) => a.includes('"Errors"') && a.includes('IF(total > 0, bad / total, 0)')),
    'no burn-rate alarm on the alias errors',
  );

  // Every Shipshape function runs a prebuilt handler, staged as shipped (not bundled at synth).
  const functions = ofType('AWS::Lambda::Function').filter(([, f]) => f.Metadata?.['aws:asset:path']);
  check(
    functions.length >= 4,
    `expected at least 4 Shipshape functions with assets, found ${functions.length}`,
  );
  for (const [id, fn] of functions) {
    check(fn.Properties.Handler === 'index.handler', `${id}: handler ${fn.Properties.Handler}`);
    check(fn.Properties.Runtime === 'nodejs24.x', `${id}: runtime ${fn.Properties.Runtime}`);
    const assetDir = join(out, fn.Metadata['aws:asset:path']);
    check(existsSync(join(assetDir, 'index.js')), `${id}: its asset has no index.js`);
    check(
      readdirSync(assetDir).every((f) => !f.endsWith('.ts')),
      `${id}: its asset holds TypeScript`,
    );
  }
  step(`asserted on ${resources.length} resources`);

  // 5. The installed CLI.
  const help = run('npx', ['--no-install', 'shipshape', '--help'], project);
  check(/^Usage: shipshape <command>/m.test(help), `shipshape --help printed:\n${help}`);
  const version = run('npx', ['--no-install', 'shipshape', '--version'], project).trim();
  check(
    version === JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    `shipshape --version printed ${version}`,
  );
  step('npx shipshape --help and --version ran the installed CLI');
} finally {
  if (keep) console.log(`consumer-test: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`consumer-test: ${failures.length} check(s) failed:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
step('passed');
