import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELP, type InitIo, OPTIONS, run } from '../../../lib/cli/commands/init';
import { FIXTURE } from '../../adopt/adopter-changes';

const FLAGS = [
  '--yes',
  '--staging-account',
  '111111111111',
  '--production-account',
  '222222222222',
  '--alarm-email',
  'oncall@example.com',
  '--repository-url',
  'https://github.com/acme/todo-api',
];

let dirs: string[] = [];
function project(files: Record<string, string> = {}, fixture = true): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-init-'));
  dirs.push(dir);
  if (fixture) cpSync(FIXTURE, dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

async function init(dir: string, args: string[], ask?: InitIo['ask']) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, {
    cwd: dir,
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    ask,
  });
  return { code, out: out.join(''), err: err.join('') };
}

function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

test('--help documents every flag', async () => {
  for (const flag of Object.keys(OPTIONS)) expect(HELP).toContain(`--${flag}`);
  const result = await init(project(), ['--help']);
  expect(result).toMatchObject({ code: 0, out: expect.stringContaining('Usage: shipshape init') });
});

test('writes the CDK app, migrations, entry, runbooks and package.json changes, and prints the next three commands', async () => {
  const dir = project();
  const result = await init(dir, FLAGS);
  expect(result.code).toBe(0);
  expect(result.out).toMatch(
    /Next:\n {2}1\. npm install\n {2}2\. npm run infra:synth\n {2}3\. npm run infra:deploy:staging\n/,
  );
  expect(readdirSync(join(dir, 'migrations')).sort()).toEqual([
    '0001_shipshape_roles.sql',
    '0002_shipshape_heartbeat.sql',
    '0003_shipshape_outbox.sql',
    '0004_shipshape_outbox_parking.sql',
    '0005_shipshape_function_roles.sql',
    '0006_baseline.sql',
  ]);
  const baseline = readFileSync(join(dir, 'migrations', '0006_baseline.sql'), 'utf8');
  expect(baseline).toMatch(/^-- phase: expand\n/);
  expect(baseline).toContain('GRANT SELECT, INSERT, UPDATE, DELETE ON public.todos TO shipshape_api;');
  expect(baseline).toContain('DROP TABLE public.todos;');
  expect(readFileSync(join(dir, 'infra', 'config.ts'), 'utf8')).toContain(
    '"runbookBaseUrl": "https://github.com/acme/todo-api/blob/main/runbooks"',
  );
  expect(readFileSync(join(dir, 'runbooks', 'api-errors.md'), 'utf8')).not.toContain('example/shipshape');
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  expect(manifest.scripts['infra:synth']).toBe("cd infra && cdk synth '**'");
  expect(manifest.scripts.start).toBe('node --env-file=.env index.js');
  expect(manifest.dependencies).toMatchObject({
    express: '^5.1.0',
    pg: '^8.16.0',
    '@codegenie/serverless-express': expect.any(String),
  });
  expect(Object.keys(manifest.devDependencies)).toEqual(
    expect.arrayContaining(['aws-cdk-lib', 'aws-cdk', 'esbuild', '@redis/client']),
  );
  expect(manifest.devDependencies.pg).toBeUndefined();
});

test('--dry-run writes nothing', async () => {
  const dir = project();
  const before = listing(dir);
  const manifest = readFileSync(join(dir, 'package.json'), 'utf8');
  const result = await init(dir, [...FLAGS, '--dry-run']);
  expect(result.code).toBe(0);
  expect(result.out).toContain('would write infra/app.ts');
  expect(listing(dir)).toEqual(before);
  expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe(manifest);
});

test('never overwrites without --force, and says so', async () => {
  const dir = project();
  expect((await init(dir, FLAGS)).code).toBe(0);
  writeFileSync(join(dir, 'infra', 'app.ts'), '// my own edits\n');
  const refused = await init(dir, FLAGS);
  expect(refused.code).toBe(3);
  expect(refused.err).toContain('infra/app.ts');
  expect(refused.err).toContain('Pass --force');
  expect(readFileSync(join(dir, 'infra', 'app.ts'), 'utf8')).toBe('// my own edits\n');
  expect((await init(dir, [...FLAGS, '--force'])).code).toBe(0);
  expect(readFileSync(join(dir, 'infra', 'app.ts'), 'utf8')).toContain('buildShipshapeApp');
});

test('fails before writing when a required flag is missing or a value is invalid (with the config messages)', async () => {
  const dir = project();
  const before = listing(dir);
  const missing = await init(dir, ['--yes', '--production-account', '222222222222']);
  expect(missing.code).toBe(2);
  expect(missing.err).toContain('--staging-account is required');
  const invalid = await init(dir, [...FLAGS, '--staging-account', '12345']);
  expect(invalid.code).toBe(2);
  expect(invalid.err).toContain('account: got "12345"; must be a 12-digit AWS account id');
  const region = await init(dir, [...FLAGS, '--region', 'mars-1']);
  expect(region.err).toContain('region: got "mars-1"; must be an AWS region code such as eu-west-1');
  expect((await init(dir, [...FLAGS, '--entry', '../outside.js'])).err).toContain(
    'must be a path inside the repository',
  );
  expect(
    (
      await init(
        dir,
        FLAGS.filter((f) => f !== '--yes'),
      )
    ).err,
  ).toContain('no terminal to ask on');
  expect(listing(dir)).toEqual(before);
});

test('asks for what flags do not give', async () => {
  const dir = project();
  const asked: string[] = [];
  const answers: Record<string, string> = {
    'AWS account of staging': '333333333333',
    'AWS account of production': '444444444444',
    'E-mail address for alarms': 'team@example.com',
    'https URL of this repository': 'https://gitlab.com/acme/todo-api',
  };
  const result = await init(dir, [], async (question, fallback) => {
    asked.push(question);
    return answers[question] ?? fallback ?? '';
  });
  expect(result.code).toBe(0);
  expect(asked).toEqual(expect.arrayContaining(Object.keys(answers)));
  const config = readFileSync(join(dir, 'infra', 'config.ts'), 'utf8');
  expect(config).toContain('"account": "333333333333"');
  expect(config).toContain('https://gitlab.com/acme/todo-api/blob/main/runbooks');
});

test('detects yarn and TypeScript; without a schema file it explains the baseline migration', async () => {
  const dir = project(
    {
      'package.json': JSON.stringify({ name: 'svc', main: 'src/app.ts', dependencies: { express: '5.3.0' } }),
      'yarn.lock': '',
      'tsconfig.json': '{}',
    },
    false,
  );
  writeFileSync(join(dir, 'app.ts'), 'export default {};\n');
  const result = await init(dir, [...FLAGS, '--app', 'app.ts']);
  expect(result.code).toBe(0);
  expect(result.out).toContain('yarn, typescript, express; handler lambda.ts');
  expect(result.out).toContain(
    'no schema file found. A database that already has tables needs a baseline migration first',
  );
  expect(result.out).toContain('1. yarn install');
  expect(readFileSync(join(dir, 'lambda.ts'), 'utf8')).toContain("import app from './app';");
  expect(existsSync(join(dir, 'migrations', '0006_baseline.sql'))).toBe(false);
});

test('keeps an existing migrations directory and reports what breaks the rules', async () => {
  const dir = project();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'migrations'));
  writeFileSync(join(dir, 'migrations', '001-init.sql'), 'CREATE TABLE x (id int);\n');
  const result = await init(dir, FLAGS);
  expect(result.code).toBe(0);
  expect(result.out).toContain('001-init.sql: file name must be NNNN_snake_case_name.sql');
  expect(readdirSync(join(dir, 'migrations'))).toEqual(['001-init.sql']);
});
