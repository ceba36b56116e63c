/**
 * `shipshape init`: adopt Shipshape in an existing repository. Writes a small CDK app around the
 * team's handler and migrations, npm scripts and dev dependencies, and the runbooks; never
 * overwrites without --force. File contents: lib/cli/init/templates.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import {
  ConfigValidationError,
  ENVIRONMENT_NAMES,
  type EnvironmentName,
  validateEnvironmentConfig,
} from '../../config';
import { BASELINE_ADVICE, loadMigrations, MigrationFileError } from '../../migrations';
import { ExitCode } from '../exit-codes';
import { detectProject, installCommand, type ProjectFacts, runScript } from '../init/detect';
import {
  appFile,
  baselineMigration,
  cdkJson,
  configFile,
  entryFile,
  environmentConfigs,
  type InitAnswers,
  packageRoot,
  packageVersion,
  PLATFORM_MIGRATIONS,
  platformMigration,
  runbooks,
  tablesOf,
} from '../init/templates';

export const HELP = `Usage: shipshape init [options]

Adopt Shipshape in this repository: writes infra/ (a CDK app with staging and production around
your handler), migrations (the platform's, plus a baseline from your schema.sql), runbooks/,
npm scripts and dev dependencies. Detects the package manager, language and framework. Asks
for what it cannot detect; with --yes it takes flags and defaults and asks nothing.

Options:
  --entry <file>               Handler entry exporting \`handler\` (default: lambda.js, or
                               lambda.ts in a TypeScript project); written for an Express app
                               when it does not exist
  --app <module>               Module that exports your app, for the written entry
                               (default: package.json main, else index/app/server.{ts,js})
  --migrations-dir <dir>       Your migrations directory (default: migrations)
  --infra-dir <dir>            Where the CDK app goes (default: infra)
  --staging-account <id>       12-digit AWS account of staging (required)
  --production-account <id>    12-digit AWS account of production (required)
  --region <region>            Region of both environments (default: eu-west-1)
  --staging-region <region>    Region of staging (default: --region)
  --production-region <region> Region of production (default: --region)
  --alarm-email <address>      Where alarms are e-mailed (required)
  --repository-url <url>       https URL of this repository; runbook links point into it
                               (default: package.json repository, else git remote origin)
  --branch <name>              Branch the runbook links name (default: main)
  --health-path <path>         Public liveness path of your API (default: /health)
  --dir <path>                 Repository root (default: the current directory)
  -y, --yes                    Ask nothing: take flags and defaults (required flags must be given)
  --dry-run                    Print what would be written and write nothing
  --force                      Overwrite files that exist (never without this flag)
  -h, --help                   Show this help

Examples:
  npx shipshape init
  npx shipshape init --yes --staging-account 111111111111 --production-account 222222222222 \\
      --alarm-email oncall@example.com --repository-url https://github.com/acme/todo-api

Exit codes: 0 written (or planned, with --dry-run), 2 bad flag or value, 3 refused (a file
exists; pass --force), 1 failed. Nothing is written unless every check passed.`;

/** Reads one answer; tests pass their own. */
export type Ask = (question: string, fallback?: string) => Promise<string>;

export interface InitIo {
  readonly cwd: string;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Set when a person can answer (a terminal on stdin). */
  readonly ask?: Ask;
}

class UsageError extends Error {}

/** The libraries the runtime library imports (bundled into the adopter's handler at synth). */
const RUNTIME_LIBRARIES = [
  'pg',
  '@aws-sdk/rds-signer',
  '@aws-sdk/client-secrets-manager',
  '@redis/client',
  '@aws-lambda-powertools/logger',
  '@aws-lambda-powertools/metrics',
  'zod',
] as const;

export const OPTIONS = {
  entry: { type: 'string' },
  app: { type: 'string' },
  'migrations-dir': { type: 'string' },
  'infra-dir': { type: 'string' },
  'staging-account': { type: 'string' },
  'production-account': { type: 'string' },
  region: { type: 'string' },
  'staging-region': { type: 'string' },
  'production-region': { type: 'string' },
  'alarm-email': { type: 'string' },
  'repository-url': { type: 'string' },
  branch: { type: 'string' },
  'health-path': { type: 'string' },
  dir: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[], io: InitIo = defaultIo()): Promise<number> {
  try {
    return await init(argv, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigValidationError) {
      io.stderr.write(`shipshape init: ${error.message}\n\nSee shipshape init --help\n`);
      return ExitCode.USAGE;
    }
    io.stderr.write(`shipshape init: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.FAILED;
  }
}

async function init(argv: string[], io: InitIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return ExitCode.OK;
  }
  const root = resolve(io.cwd, values.dir ?? '.');
  let facts: ProjectFacts;
  try {
    facts = detectProject(root);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const ask = values.yes ? undefined : io.ask;
  if (!values.yes && !io.ask) {
    throw new UsageError('no terminal to ask on: pass --yes with the flags (see --help)');
  }
  const answers = await collectAnswers(values, facts, ask);
  const { name: packageName, version } = packageVersion();
  const plan = planFiles(answers, facts, packageName, version);

  const existing = [...plan.files.keys()].filter((file) => existsSync(join(root, file)));
  io.stdout.write(
    `Shipshape init in ${root}\n  ${facts.packageManager}, ${facts.language}${facts.framework ? `, ${facts.framework}` : ''}; handler ${answers.entry}; migrations ${answers.migrationsDir}/\n`,
  );
  if (existing.length > 0 && !values.force) {
    io.stderr.write(
      `shipshape init: these files exist and would be overwritten:\n${existing.map((f) => `  ${f}`).join('\n')}\nNothing was written. Pass --force to overwrite them.\n`,
    );
    return ExitCode.REFUSED;
  }
  for (const note of plan.notes) io.stdout.write(`  note: ${note}\n`);
  const verb = values['dry-run'] ? 'would write' : 'wrote';
  for (const [file, content] of plan.files) {
    if (!values['dry-run']) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), content);
    }
    io.stdout.write(`  ${verb} ${file}${existing.includes(file) ? ' (overwritten)' : ''}\n`);
  }
  const manifest = updatePackageJson(facts, answers, packageName, version);
  if (!values['dry-run'])
    writeFileSync(join(root, 'package.json'), `${JSON.stringify(manifest.json, null, 2)}\n`);
  io.stdout.write(`  ${values['dry-run'] ? 'would update' : 'updated'} package.json: ${manifest.summary}\n`);
  const pm = facts.packageManager;
  io.stdout.write(
    `\nNext:\n  1. ${installCommand(pm)}\n  2. ${runScript(pm, 'infra:synth')}\n  3. ${runScript(pm, 'infra:deploy:staging')}\n` +
      `Then read docs/adopt.md of ${packageName} for the code changes (export the app, the one-line pool change).\n`,
  );
  return ExitCode.OK;
}

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean;
};

async function collectAnswers(
  values: Values,
  facts: ProjectFacts,
  ask: Ask | undefined,
): Promise<InitAnswers> {
  const take = async (flag: keyof Values, question: string, fallback?: string): Promise<string> => {
    const given = values[flag];
    if (typeof given === 'string') return given;
    if (ask) {
      const answer = (await ask(question, fallback)).trim();
      if (answer !== '') return answer;
    }
    if (fallback !== undefined) return fallback;
    throw new UsageError(`--${flag} is required (${question.toLowerCase()})`);
  };
  const ext = facts.language === 'typescript' ? 'ts' : 'js';
  const entry = await take('entry', 'Handler entry file', `lambda.${ext}`);
  const appModule = existsSync(join(facts.root, entry))
    ? undefined
    : await take('app', 'Module that exports your app', facts.appModule);
  const migrationsDir = await take('migrations-dir', 'Migrations directory', 'migrations');
  const infraDir = await take('infra-dir', 'Directory of the CDK app', 'infra');
  const accounts = {
    staging: await take('staging-account', 'AWS account of staging'),
    production: await take('production-account', 'AWS account of production'),
  };
  const region = await take('region', 'AWS region', 'eu-west-1');
  const regions = {
    staging: values['staging-region'] ?? region,
    production: values['production-region'] ?? region,
  };
  const alarmEmail = await take('alarm-email', 'E-mail address for alarms');
  const repositoryUrl = (
    await take('repository-url', 'https URL of this repository', facts.repositoryUrl)
  ).replace(/\/+$/, '');
  const branch = await take('branch', 'Branch of the runbook links', 'main');
  const healthPath = await take('health-path', 'Health path of your API', '/health');

  for (const [flag, value] of [
    ['entry', entry],
    ['migrations-dir', migrationsDir],
    ['infra-dir', infraDir],
  ] as const) {
    if (value.startsWith('/') || value.split(/[\\/]/).includes('..')) {
      throw new UsageError(`--${flag} must be a path inside the repository, got '${value}'`);
    }
  }
  if (!/^https:\/\/[^\s/]+\/\S+$/.test(repositoryUrl)) {
    throw new UsageError(
      `--repository-url must be an https:// URL of the repository, got '${repositoryUrl}'`,
    );
  }
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(healthPath)) {
    throw new UsageError(`--health-path must be a plain path starting with /, got '${healthPath}'`);
  }
  const answers: InitAnswers = {
    entry,
    appModule,
    migrationsDir,
    infraDir,
    accounts,
    regions,
    alarmEmail,
    repositoryUrl,
    branch,
    healthPath,
  };
  // The same validation (and messages) synth applies, before anything is written.
  const configs = environmentConfigs(answers);
  for (const name of ENVIRONMENT_NAMES) validateEnvironmentConfig(name, configs[name as EnvironmentName]);
  return answers;
}

interface Plan {
  readonly files: Map<string, string>;
  readonly notes: string[];
}

function planFiles(answers: InitAnswers, facts: ProjectFacts, packageName: string, version: string): Plan {
  const files = new Map<string, string>();
  const notes: string[] = [];
  const migrationsPath = join(facts.root, answers.migrationsDir);
  const hasMigrations =
    existsSync(migrationsPath) && readdirSync(migrationsPath).some((f) => f.endsWith('.sql'));
  let tables: string[] = [];
  if (hasMigrations) {
    try {
      loadMigrations(migrationsPath);
    } catch (error) {
      if (!(error instanceof MigrationFileError)) throw error;
      notes.push(
        `your migrations do not follow the rules yet (the gate will refuse them):\n${error.message}`,
      );
    }
  } else {
    for (const { from, to } of PLATFORM_MIGRATIONS)
      files.set(join(answers.migrationsDir, to), platformMigration(from));
    if (facts.schemaFile) {
      const schema = readFileSync(join(facts.root, facts.schemaFile), 'utf8');
      tables = tablesOf(schema);
      const next = String(PLATFORM_MIGRATIONS.length + 1).padStart(4, '0');
      files.set(
        join(answers.migrationsDir, `${next}_baseline.sql`),
        baselineMigration(schema, facts.schemaFile),
      );
      notes.push(
        `baseline migration written from ${facts.schemaFile} (tables: ${tables.join(', ')}); review it`,
      );
    } else {
      notes.push(`no schema file found. ${BASELINE_ADVICE}`);
    }
  }
  if (answers.appModule !== undefined) {
    if (!facts.framework || !answers.appModule) {
      throw new UsageError(
        `${answers.entry} does not exist and init can only write one for an Express app; write a handler entry (docs/adopt.md#your-handler) and pass --entry`,
      );
    }
    files.set(answers.entry, entryFile(facts.language, facts.framework, answers.appModule, packageName));
  }
  files.set(join(answers.infraDir, 'app.ts'), appFile(answers, facts, packageName, tables));
  files.set(join(answers.infraDir, 'config.ts'), configFile(answers, packageName));
  files.set(join(answers.infraDir, 'cdk.json'), cdkJson());
  for (const [file, text] of Object.entries(runbooks(answers, packageName, version)))
    files.set(join('runbooks', file), text);
  if (!facts.lockFile)
    notes.push(`no lock file: run ${installCommand(facts.packageManager)} before synth (bundling needs one)`);
  return { files, notes };
}

function updatePackageJson(facts: ProjectFacts, answers: InitAnswers, packageName: string, version: string) {
  const ours = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const versionOf = (dep: string) => ours.dependencies?.[dep] ?? ours.devDependencies?.[dep] ?? 'latest';
  const json = structuredClone(facts.packageJson);
  const infra = relative(facts.root, join(facts.root, answers.infraDir)) || '.';
  const scripts: Record<string, string> = {
    'infra:synth': `cd ${infra} && cdk synth '**'`,
    'infra:deploy:staging': `cd ${infra} && cdk deploy 'Staging/*'`,
    'infra:deploy:production': `cd ${infra} && cdk deploy 'Production/*'`,
    migrate: `shipshape migrate --migrations-dir ${answers.migrationsDir}`,
  };
  const devDependencies: Record<string, string> = {
    [packageName]: `^${version}`,
    'aws-cdk-lib': versionOf('aws-cdk-lib'),
    constructs: versionOf('constructs'),
    'aws-cdk': versionOf('aws-cdk'),
    esbuild: versionOf('esbuild'),
    tsx: versionOf('tsx'),
  };
  // What @shipshape/cdk/runtime imports; esbuild bundles them into the handler at synth.
  for (const dep of RUNTIME_LIBRARIES) devDependencies[dep] = versionOf(dep);
  const dependencies: Record<string, string> =
    facts.framework === 'express'
      ? { '@codegenie/serverless-express': versionOf('@codegenie/serverless-express') }
      : {};
  const added: string[] = [];
  const skipped: string[] = [];
  json.scripts = { ...json.scripts };
  for (const [name, command] of Object.entries(scripts)) {
    if (json.scripts[name] !== undefined && json.scripts[name] !== command) {
      skipped.push(`script ${name} (yours kept)`);
    } else {
      json.scripts[name] = command;
      added.push(name);
    }
  }
  json.devDependencies = { ...json.devDependencies };
  const addedDev: string[] = [];
  for (const [name, range] of Object.entries(devDependencies)) {
    // A library the app already depends on (e.g. pg) stays where it is.
    if (json.dependencies?.[name] === undefined && json.devDependencies[name] === undefined) {
      json.devDependencies[name] = range;
      addedDev.push(name);
    }
  }
  if (Object.keys(dependencies).length > 0) {
    json.dependencies = { ...json.dependencies };
    for (const [name, range] of Object.entries(dependencies)) json.dependencies[name] ??= range;
  }
  const summary =
    `scripts ${added.join(', ')}; devDependencies ${addedDev.join(', ')}` +
    (Object.keys(dependencies).length > 0 ? `; dependencies ${Object.keys(dependencies).join(', ')}` : '') +
    (skipped.length > 0 ? `; kept ${skipped.join(', ')}` : '');
  return { json, summary };
}

function defaultIo(): InitIo {
  const tty = process.stdin.isTTY === true;
  return {
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    ask: tty
      ? async (question, fallback) => {
          const rl = createInterface({ input: process.stdin, output: process.stdout });
          try {
            return await rl.question(`${question}${fallback ? ` [${fallback}]` : ''}: `);
          } finally {
            rl.close();
          }
        }
      : undefined,
  };
}
