/**
 * The files `shipshape init` writes. Each is a function of the answers, so `--dry-run` can show
 * them and tests can read them without touching a disk.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RAW_CONFIGS } from '../../config';
import type { EnvironmentName, RawEnvironmentConfig } from '../../config/environment-config';
import type { Language, ProjectFacts } from './detect';

/** What init asked for (or took from flags). */
export interface InitAnswers {
  /** Handler entry, relative to the root. */
  readonly entry: string;
  /** Module exporting the app, relative to the root (only used to write a missing entry). */
  readonly appModule?: string;
  /** Migrations directory, relative to the root. */
  readonly migrationsDir: string;
  readonly infraDir: string;
  readonly accounts: Record<EnvironmentName, string>;
  readonly regions: Record<EnvironmentName, string>;
  readonly alarmEmail: string;
  /** https URL of the repository; runbook links point into it. */
  readonly repositoryUrl: string;
  /** Branch the runbook links name. */
  readonly branch: string;
  readonly healthPath: string;
}

/** Root of this package (where package.json, runbooks/ and migrations/ are), from source or dist. */
export function packageRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(join(dir, 'runbooks'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`shipshape init: cannot find the package root above ${from}`);
    dir = parent;
  }
}

export function packageVersion(): { name: string; version: string } {
  const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  return { name: manifest.name, version: manifest.version };
}

/** Our staging/production configs with the adopter's accounts, regions, e-mail and runbooks. */
export function environmentConfigs(answers: InitAnswers): Record<EnvironmentName, RawEnvironmentConfig> {
  const runbookBaseUrl = `${answers.repositoryUrl}/blob/${answers.branch}/runbooks`;
  const make = (name: EnvironmentName, base: RawEnvironmentConfig): RawEnvironmentConfig => {
    const region = answers.regions[name];
    const zones = base.availabilityZones.length;
    return {
      ...base,
      account: answers.accounts[name],
      region,
      availabilityZones: ['a', 'b', 'c'].slice(0, zones).map((letter) => `${region}${letter}`),
      observability: { ...base.observability, runbookBaseUrl },
      alarmEmail: answers.alarmEmail,
    };
  };
  return {
    staging: make('staging', RAW_CONFIGS.staging as RawEnvironmentConfig),
    production: make('production', RAW_CONFIGS.production as RawEnvironmentConfig),
  };
}

export function configFile(answers: InitAnswers, packageName: string): string {
  const configs = environmentConfigs(answers);
  const literal = (value: unknown) => JSON.stringify(value, null, 2);
  return `/**
 * Staging and production of this service. Same code, different sizes; validated at synth with
 * the messages of ${packageName} (a bad value names the field, the value and what is allowed).
 * Every field: https://github.com/example/shipshape/blob/main/docs/adopt.md#configuration
 */
import type { RawEnvironmentConfig } from '${packageName}';

export const staging: RawEnvironmentConfig = ${literal(configs.staging)};

export const production: RawEnvironmentConfig = ${literal(configs.production)};
`;
}

/** The tables the baseline creates, for the restore verification's critical tables. */
export function appFile(
  answers: InitAnswers,
  facts: ProjectFacts,
  packageName: string,
  tables: readonly string[],
): string {
  const rel = (p: string) => `path.join(root, ${JSON.stringify(p)})`;
  const critical = tables.map((t) => `{ name: ${JSON.stringify(t)}, minRows: 0 }`).join(', ');
  return `#!/usr/bin/env node
/**
 * The CDK app of this service: staging and production built by ${packageName} around the
 * handler ${answers.entry} and the migrations in ${answers.migrationsDir}/.
 *   npx cdk synth '**'          (from ${answers.infraDir}/)
 */
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildShipshapeApp } from '${packageName}';
import { production, staging } from './config';

const root = path.join(__dirname, '..');

buildShipshapeApp(new App(), {
  rawConfigs: { staging, production },
  // Deploy with \`cdk deploy\` or your CI; pass the pipeline config to add the CDK Pipeline.
  pipeline: false,
  application: {
    entry: ${rel(answers.entry)},
    projectRoot: root,${facts.lockFile ? `\n    depsLockFilePath: ${rel(facts.lockFile)},` : ''}
    migrationsDirectory: ${rel(answers.migrationsDir)},
    healthPath: ${JSON.stringify(answers.healthPath)},
    // Checked in every daily restore of the production database (heartbeat is always checked).
    criticalTables: [${critical}],
    // Requests the smoke test sends through CloudFront after each deployment shifted traffic,
    // e.g. { method: 'GET', path: '/todos', expectStatus: 200 }.
    smokeChecks: [],
  },
});
`;
}

/** cdk.json of the infra directory: our feature flags, the app run with tsx. */
export function cdkJson(): string {
  const ours = JSON.parse(readFileSync(join(packageRoot(), 'cdk.json'), 'utf8')) as { context?: unknown };
  return `${JSON.stringify({ app: 'npx tsx app.ts', context: ours.context ?? {} }, null, 2)}\n`;
}

/** The Lambda entry around an Express/Fastify/Hono app, through the documented adapters. */
export function entryFile(
  language: Language,
  framework: ProjectFacts['framework'],
  appModule: string,
  packageName: string,
): string {
  const appPath = `./${appModule.replace(/\.(ts|js)$/, '')}`;
  if (framework !== 'express') {
    throw new Error(
      `shipshape init writes a handler entry for Express apps; for ${framework ?? 'this project'} write one exporting \`handler\` (docs/adopt.md#your-handler) and pass --entry`,
    );
  }
  const runtime = `${packageName}/runtime`;
  if (language === 'typescript') {
    return `// Lambda entry written by shipshape init: the Express app behind API Gateway (HTTP API).
import serverlessExpress from '@codegenie/serverless-express';
import { apiHandler, cacheProbe, connectCacheFromEnv, createPoolFromEnv, databaseProbe } from '${runtime}';
import app from '${appPath}';

export const handler = apiHandler(serverlessExpress({ app }), {
  healthCheck: { probes: { database: databaseProbe(createPoolFromEnv({ max: 1 })), cache: cacheProbe(connectCacheFromEnv) } },
});
`;
  }
  return `// Lambda entry written by shipshape init: the Express app behind API Gateway (HTTP API).
const serverlessExpress = require('@codegenie/serverless-express');
const { apiHandler, cacheProbe, connectCacheFromEnv, createPoolFromEnv, databaseProbe } = require('${runtime}');
const app = require('${appPath}');

exports.handler = apiHandler(serverlessExpress({ app }), {
  healthCheck: { probes: { database: databaseProbe(createPoolFromEnv({ max: 1 })), cache: cacheProbe(connectCacheFromEnv) } },
});
`;
}

/**
 * The platform's own migrations every service needs (roles, heartbeat, outbox, outbox parking,
 * one role per function), renumbered. The sample application's tables (0003, 0005) and its API
 * role grants (0008) stay behind: the baseline grants the adopter's tables to `shipshape_api`.
 */
export const PLATFORM_MIGRATIONS: readonly { readonly from: string; readonly to: string }[] = [
  { from: '0001_roles.sql', to: '0001_shipshape_roles.sql' },
  { from: '0002_heartbeat.sql', to: '0002_shipshape_heartbeat.sql' },
  { from: '0004_outbox.sql', to: '0003_shipshape_outbox.sql' },
  { from: '0006_outbox_parking.sql', to: '0004_shipshape_outbox_parking.sql' },
  { from: '0007_function_roles.sql', to: '0005_shipshape_function_roles.sql' },
];

export function platformMigration(file: string): string {
  return readFileSync(join(packageRoot(), 'migrations', file), 'utf8');
}

const CREATE_TABLE = /create\s+table\s+(?:if\s+not\s+exists\s+)?(?:"?public"?\.)?"?([a-z_][a-z0-9_]*)"?/gi;

/** Tables a schema file creates, in order. */
export function tablesOf(schema: string): string[] {
  return [...schema.matchAll(CREATE_TABLE)].map((m) => m[1].toLowerCase());
}

/**
 * The baseline migration from an existing schema file: the schema as it is (owned by the
 * platform's owner role), the service role's privileges on its tables and their sequences, and
 * the DROPs that revert it.
 */
export function baselineMigration(schema: string, source: string): string {
  const tables = tablesOf(schema);
  if (tables.length === 0)
    throw new Error(
      `${source} creates no table; write the baseline migration by hand (docs/adopt.md#baseline-migration)`,
    );
  const list = tables.map((t) => `public.${t}`).join(', ');
  const quoted = tables.map((t) => `'${t}'`).join(', ');
  return `-- phase: expand
-- Baseline: the schema this service had before Shipshape, from ${source} (written by shipshape init).
-- On a database restored from the old one the tables exist already and CREATE ... IF NOT EXISTS
-- keeps them; on a new database this creates them. Later changes are new migrations.

-- Up Migration
SET LOCAL ROLE shipshape_owner;

${schema.trim()}

-- The service connects as \`shipshape_api\` (IAM through the RDS Proxy; the role comes from
-- 0005_shipshape_function_roles): it may read and write these tables.
GRANT SELECT, INSERT, UPDATE, DELETE ON ${list} TO shipshape_api;
DO $$
DECLARE
  seq text;
BEGIN
  FOR seq IN
    SELECT pg_get_serial_sequence(format('public.%I', c.table_name), c.column_name)
    FROM information_schema.columns c
    WHERE c.table_schema = 'public' AND c.table_name = ANY (ARRAY[${quoted}])
  LOOP
    IF seq IS NOT NULL THEN
      EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO shipshape_api', seq);
    END IF;
  END LOOP;
END
$$;

-- Down Migration
SET LOCAL ROLE shipshape_owner;

-- reason: reverts the baseline; down is the explicit, gated schema rollback.
-- squawk-ignore ban-drop-table
DROP TABLE ${[...tables]
    .reverse()
    .map((t) => `public.${t}`)
    .join(', ')};
`;
}

/** Our runbooks with their links pointing into the adopter's repository. */
export function runbooks(answers: InitAnswers, packageName: string, version: string): Record<string, string> {
  const dir = join(packageRoot(), 'runbooks');
  const base = `${answers.repositoryUrl}/blob/${answers.branch}`;
  const files: Record<string, string> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(join(dir, file), 'utf8')
      .replaceAll('https://github.com/example/shipshape/blob/main/runbooks', `${base}/runbooks`)
      .replace(/`lib\/config\/[a-z-]*(\.ts)?`/g, `\`${answers.infraDir}/config.ts\``)
      .replace(/`lambda\/api\/[A-Za-z0-9_./-]*`/g, `\`${answers.entry}\``)
      .replace(/`(lib|lambda)\//g, `\`${packageName}: $1/`);
    files[file] = `<!-- From ${packageName} ${version}, copied by shipshape init; edit freely. -->\n${text}`;
  }
  return files;
}
