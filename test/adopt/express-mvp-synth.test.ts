/**
 * Adoption end to end, the way a team does it: the packed @shipshape/cdk tarball installed in a
 * copy of the Express MVP fixture, `shipshape init --yes` from the installed package, the
 * documented code changes, then the real CDK CLI synthesizes both stages (esbuild bundles the
 * adopter's handler; cdk-nag runs). Dependencies are linked from this repository's node_modules
 * instead of downloaded, so the test needs no registry. Takes about a minute (pack, synth of two
 * stages with the policy packs).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { applyAdopterChanges, copyFixture } from './adopter-changes';

const REPO = join(__dirname, '..', '..');
const REPOSITORY_URL = 'https://github.com/acme/todo-api';

let work: string;
let project: string;
let initOutput: string;
const templates: Record<string, Record<string, Template>> = {};
let assembly: string;

function stackTemplates(stage: string): Record<string, Template> {
  const dir = join(assembly, `assembly-${stage}`);
  const result: Record<string, Template> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.template.json'))) {
    const id = file.replace(/^(Staging|Production)/, '').replace(/[0-9A-F]{8}\.template\.json$/, '');
    result[id] = Template.fromJSON(
      JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>,
    );
  }
  return result;
}

/** The directory of a function's code asset in cdk.out. */
function assetOf(stage: string, template: Template, logicalIdPrefix: string): string {
  const functions = template.findResources('AWS::Lambda::Function');
  const id = Object.keys(functions).find((key) => key.startsWith(logicalIdPrefix));
  if (!id) throw new Error(`no function ${logicalIdPrefix}* in ${Object.keys(functions).join(', ')}`);
  const metadata = (functions[id] as { Metadata?: Record<string, string> }).Metadata ?? {};
  // The path is relative to the stage's nested assembly.
  return join(assembly, `assembly-${stage}`, metadata['aws:asset:path']);
}

beforeAll(() => {
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build.mjs'), '--if-stale', '--quiet'], {
    cwd: REPO,
    stdio: 'inherit',
  });
  work = mkdtempSync(join(tmpdir(), 'shipshape-adopt-synth-'));
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: REPO,
      encoding: 'utf8',
    }),
  ) as { filename: string }[];

  project = join(work, 'todo-api');
  copyFixture(project);
  // Installed the way npm lays it out: the tarball under node_modules/@shipshape/cdk, its
  // dependencies (and the adopter's) beside it, linked from this repository.
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, '@shipshape'), { recursive: true });
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    if (entry !== '@shipshape') symlinkSync(join(REPO, 'node_modules', entry), join(modules, entry));
  }
  execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', work]);
  execFileSync('mv', [join(work, 'package'), join(modules, '@shipshape', 'cdk')]);

  initOutput = execFileSync(
    process.execPath,
    [
      join(modules, '@shipshape', 'cdk', 'dist', 'bin', 'shipshape.js'),
      'init',
      '--yes',
      '--staging-account',
      '111111111111',
      '--production-account',
      '222222222222',
      '--alarm-email',
      'oncall@example.com',
      '--repository-url',
      REPOSITORY_URL,
    ],
    { cwd: project, encoding: 'utf8' },
  );
  applyAdopterChanges(project);

  execFileSync(join(modules, '.bin', 'cdk'), ['synth', '**', '--quiet'], {
    cwd: join(project, 'infra'),
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true', CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assembly = join(project, 'infra', 'cdk.out');
  for (const stage of ['Staging', 'Production']) templates[stage] = stackTemplates(stage);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('init ran from the installed package and printed the next three commands', () => {
  expect(initOutput).toContain('npm, javascript, express; handler lambda.js; migrations migrations/');
  expect(initOutput).toMatch(
    /Next:\n {2}1\. npm install\n {2}2\. npm run infra:synth\n {2}3\. npm run infra:deploy:staging/,
  );
  expect(existsSync(join(project, 'infra', 'app.ts'))).toBe(true);
});

describe.each(['Staging', 'Production'])('%s, adopted', (stage) => {
  test('the function carries the fixture’s code, bundled at synth, behind the live alias', () => {
    const stateless = templates[stage].Stateless;
    stateless.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Environment: {
        Variables: Match.objectLike({ DB_USER: 'shipshape_api', SHIPSHAPE_SCHEMA_VERSION: '0006_baseline' }),
      },
    });
    const bundle = readFileSync(join(assetOf(stage, stateless, 'Service'), 'index.js'), 'utf8');
    // The fixture's routes, its inline SQL and the runtime's wrapper are all in the bundle.
    expect(bundle).toContain('SELECT * FROM todos WHERE id = $1');
    expect(bundle).toContain('Todo not found');
    expect(bundle).toContain('request completed');
    stateless.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      FunctionVersion: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServiceCurrentVersion'), 'Version'] },
    });
  });

  test('deployments shift the alias through CodeDeploy with the migration gate carrying the adopter’s migrations', () => {
    const stateless = templates[stage].Stateless;
    stateless.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentStyle: { DeploymentType: 'BLUE_GREEN', DeploymentOption: 'WITH_TRAFFIC_CONTROL' },
    });
    stateless.hasResource('AWS::Lambda::Alias', {
      UpdatePolicy: {
        CodeDeployLambdaAliasUpdate: Match.objectLike({ BeforeAllowTrafficHook: Match.anyValue() }),
      },
    });
    const gate = assetOf(stage, stateless, 'DeploymentMigrationGate');
    expect(readdirSync(join(gate, 'migrations')).sort()).toEqual([
      '0001_shipshape_roles.sql',
      '0002_shipshape_heartbeat.sql',
      '0003_shipshape_outbox.sql',
      '0004_shipshape_outbox_parking.sql',
      '0005_shipshape_function_roles.sql',
      '0006_baseline.sql',
    ]);
    expect(readFileSync(join(gate, 'migrations', '0006_baseline.sql'), 'utf8')).toContain(
      'CREATE TABLE IF NOT EXISTS todos',
    );
  });

  test('SLO burn-rate alarms and alarm runbooks point at the adopter’s repository', () => {
    const stateless = templates[stage].Stateless;
    const alarms = Object.values(stateless.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: { AlarmDescription?: string } }).Properties.AlarmDescription ?? '',
    );
    expect(alarms.some((d) => /burn/i.test(d))).toBe(true);
    expect(
      alarms
        .filter((d) => d.includes('/runbooks/'))
        .every((d) => d.includes(`${REPOSITORY_URL}/blob/main/runbooks/`)),
    ).toBe(true);
    expect(existsSync(join(project, 'runbooks', 'slo-burn-rate.md'))).toBe(true);
  });

  test('the front door has the WAF (us-east-1) and the health route the gate and smoke test use', () => {
    templates[stage].StatelessEdgeWaf.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'CLOUDFRONT' });
    templates[stage].Stateless.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ WebACLId: Match.anyValue() }),
    });
    templates[stage].Stateless.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /health' });
  });

  test('restore verification checks the adopter’s tables and the platform heartbeat', () => {
    templates[stage].Stateless.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CRITICAL_TABLES: JSON.stringify([
            { name: 'todos', minRows: 0 },
            { name: 'heartbeat', minRows: 1 },
          ]),
        }),
      },
    });
  });
});
