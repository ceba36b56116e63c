import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CodeDeployClient,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  PutLifecycleEventHookExecutionStatusCommand,
} from '@aws-sdk/client-codedeploy';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Client } from 'pg';
import { createHandler } from '../../../lambda/deploy-hooks/migration-gate';
import type { GateOutcome, GateSettings } from '../../../lambda/deploy-hooks/migration-gate/gate';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres';

const codedeploy = mockClient(CodeDeployClient);
const lambda = mockClient(LambdaClient);
const secrets = mockClient(SecretsManagerClient);

const EVENT = { DeploymentId: 'd-GATE12345', LifecycleEventHookExecutionId: 'exec-1' };
const FUNCTION = 'api';
const silentLogger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });

const EXPAND_WIDGETS = `-- phase: expand
-- Up Migration
CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL);
-- Down Migration
DROP TABLE widgets;
`;
const EXPAND_COLOR = `-- phase: expand
-- Up Migration
ALTER TABLE widgets ADD COLUMN color text;
-- Down Migration
ALTER TABLE widgets DROP COLUMN color;
`;
const BROKEN = `-- phase: expand
-- Up Migration
CREATE TABLE gadgets (id int PRIMARY KEY);
ALTER TABLE no_such_table ADD COLUMN x int;
-- Down Migration
DROP TABLE gadgets;
`;
const CONTRACT_NAME = `-- phase: contract
-- contracts: 0001
-- Up Migration
ALTER TABLE widgets DROP COLUMN name;
-- Down Migration
ALTER TABLE widgets ADD COLUMN name text;
`;

const SLOW_TWICE = `-- phase: expand
-- Up Migration
CREATE TABLE slow_marker (id int);
SELECT pg_sleep(2);
SELECT pg_sleep(2);
-- Down Migration
DROP TABLE slow_marker;
`;
const slow = (table: string) => `-- phase: expand
-- Up Migration
CREATE TABLE ${table} (id int);
SELECT pg_sleep(1.5);
-- Down Migration
DROP TABLE ${table};
`;

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gate-migrations-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** A Lambda response payload as the SDK returns it (bytes that can also turn into a string). */
function blob(text: string) {
  return Object.assign(new TextEncoder().encode(text), { transformToString: () => text });
}

/** GetDeployment of EVENT's deployment, with its AppSpec shifting `api` from `current` to `target`. */
function deployment(current: string | number, target: string | number, format: 'json' | 'yaml' = 'json') {
  const properties = { Name: FUNCTION, Alias: 'live', CurrentVersion: current, TargetVersion: target };
  const content =
    format === 'json'
      ? JSON.stringify({
          version: 0.0,
          Resources: [{ api: { Type: 'AWS::Lambda::Function', Properties: properties } }],
          Hooks: [{ BeforeAllowTraffic: 'gate' }],
        })
      : [
          'version: 0.0',
          'Resources:',
          '  - api:',
          '      Type: AWS::Lambda::Function',
          '      Properties:',
          `        Name: ${FUNCTION}`,
          '        Alias: live',
          `        CurrentVersion: ${current}`,
          `        TargetVersion: ${target}`,
          '',
        ].join('\n');
  codedeploy.on(GetDeploymentCommand, { deploymentId: EVENT.DeploymentId }).resolves({
    deploymentInfo: {
      deploymentId: EVENT.DeploymentId,
      applicationName: 'app',
      deploymentGroupName: 'group',
      revision: { revisionType: 'AppSpecContent', appSpecContent: { content } },
    },
  });
}

function healthy(statusCode = 200) {
  lambda.on(InvokeCommand).resolves({
    StatusCode: 200,
    Payload: blob(JSON.stringify({ statusCode, body: '{"status":"ok"}' })),
  });
}

describe('migration gate (BeforeAllowTraffic)', () => {
  let db: TestDatabase;
  const dirs: string[] = [];

  beforeEach(async () => {
    codedeploy.reset();
    lambda.reset();
    secrets.reset();
    db = await createTestDatabase('deploy_gate');
    const url = new URL(db.url);
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        host: 'ignored.example.internal',
        port: 5432,
      }),
    });
    codedeploy.on(PutLifecycleEventHookExecutionStatusCommand).resolves({});
    deployment(6, 7);
  });
  afterEach(async () => {
    await db.drop();
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  function gate(
    files: Record<string, string>,
    settings: Partial<GateSettings> = {},
    remainingMs: number | (() => number) = 600_000,
    reportReserveMs?: number,
  ) {
    const dir = migrationsDir(files);
    dirs.push(dir);
    const url = new URL(db.url);
    const handler = createHandler({
      logger: silentLogger,
      tls: false,
      migrationsDir: dir,
      settings: {
        secretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:master-AbCdEf',
        host: url.hostname,
        port: Number(url.port),
        database: url.pathname.slice(1),
        functionName: FUNCTION,
        lockTimeoutMs: 5_000,
        statementTimeoutMs: 60_000,
        selfTestTimeoutMs: 10_000,
        ...settings,
      },
      reportReserveMs,
    });
    return handler(EVENT, {
      getRemainingTimeInMillis: typeof remainingMs === 'function' ? remainingMs : () => remainingMs,
      awsRequestId: 'req-1',
    }) as Promise<GateOutcome>;
  }

  async function tableColumns(table: string): Promise<string[]> {
    const result = await db.pool.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    return result.rows.map((r) => r.column_name);
  }

  async function history(): Promise<string[]> {
    const exists = await db.pool.query<{ t: string | null }>(
      `SELECT to_regclass('public.shipshape_migrations')::text AS t`,
    );
    if (!exists.rows[0].t) return [];
    return (
      await db.pool.query<{ name: string }>('SELECT name FROM public.shipshape_migrations ORDER BY id')
    ).rows.map((r) => r.name);
  }

  function expectReported(status: 'Succeeded' | 'Failed') {
    expect(codedeploy).toHaveReceivedCommandTimes(PutLifecycleEventHookExecutionStatusCommand, 1);
    expect(codedeploy).toHaveReceivedCommandWith(PutLifecycleEventHookExecutionStatusCommand, {
      deploymentId: EVENT.DeploymentId,
      lifecycleEventHookExecutionId: EVENT.LifecycleEventHookExecutionId,
      status,
    });
  }

  test('applies pending migrations, self-tests the new version with GET /health and reports Succeeded', async () => {
    healthy();
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS, '0002_widget_color.sql': EXPAND_COLOR });
    expect(outcome).toMatchObject({ verdict: 'Succeeded', applied: ['0001_widgets', '0002_widget_color'] });
    expect(await tableColumns('widgets')).toEqual(['id', 'name', 'color']);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: FUNCTION, Qualifier: '7' });
    const payload = JSON.parse(
      Buffer.from(lambda.commandCalls(InvokeCommand)[0].args[0].input.Payload as Uint8Array).toString(),
    ) as { rawPath: string; requestContext: { http: { method: string } } };
    expect(payload.rawPath).toBe('/health');
    expect(payload.requestContext.http.method).toBe('GET');
    expectReported('Succeeded');
  });

  test('a failing migration reports Failed and leaves the schema unchanged (no partial table, no history row)', async () => {
    healthy();
    const outcome = await gate({ '0001_gadgets_broken.sql': BROKEN });
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'fatal', applied: [] });
    expect(outcome.reason).toMatch(/0001_gadgets_broken failed and was rolled back/);
    expect(await tableColumns('gadgets')).toEqual([]);
    expect(await history()).toEqual([]);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
    expectReported('Failed');
  });

  test('a migration blocked by a lock gives up after the lock timeout, rolls back and reports Failed', async () => {
    healthy();
    await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    codedeploy.resetHistory();
    const blocker = new Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE widgets IN ACCESS EXCLUSIVE MODE');
      const outcome = await gate(
        { '0001_widgets.sql': EXPAND_WIDGETS, '0002_widget_color.sql': EXPAND_COLOR },
        { lockTimeoutMs: 300 },
      );
      expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'retryable' });
      expect(outcome.reason).toMatch(/gave up waiting for a lock after 300 ms/);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect(await tableColumns('widgets')).toEqual(['id', 'name']);
    expect(await history()).toEqual(['0001_widgets']);
    expectReported('Failed');
  });

  test('refuses a contract migration whose expand was applied after the last successful deployment', async () => {
    healthy();
    await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    codedeploy.resetHistory();
    codedeploy.on(GetDeploymentGroupCommand).resolves({
      deploymentGroupInfo: {
        lastSuccessfulDeployment: { deploymentId: 'd-PREVIOUS1', endTime: new Date(Date.now() - 3_600_000) },
      },
    });
    const outcome = await gate({
      '0001_widgets.sql': EXPAND_WIDGETS,
      '0002_widget_color.sql': EXPAND_COLOR,
      '0003_drop_widget_name.sql': CONTRACT_NAME,
    });
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'refused', applied: [] });
    expect(outcome.reason).toMatch(
      /0003_drop_widget_name: 0001_widgets was applied at .* it has not been live for one full release/,
    );
    // Nothing applied: not even the expand migration that came with it.
    expect(await tableColumns('widgets')).toEqual(['id', 'name']);
    expect(await history()).toEqual(['0001_widgets']);
    expect(codedeploy).toHaveReceivedCommandWith(GetDeploymentGroupCommand, {
      applicationName: 'app',
      deploymentGroupName: 'group',
    });
    expectReported('Failed');
  });

  test('refuses a contract migration shipped in the same release as its expand', async () => {
    healthy();
    codedeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: {} });
    const outcome = await gate({
      '0001_widgets.sql': EXPAND_WIDGETS,
      '0002_drop_widget_name.sql': CONTRACT_NAME,
    });
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'refused' });
    expect(outcome.reason).toMatch(/0001_widgets is not applied yet/);
    expect(await history()).toEqual([]);
    expectReported('Failed');
  });

  test('applies a contract migration once a deployment succeeded after its expand', async () => {
    healthy();
    await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    codedeploy.resetHistory();
    codedeploy.on(GetDeploymentGroupCommand).resolves({
      deploymentGroupInfo: {
        lastSuccessfulDeployment: { deploymentId: 'd-PREVIOUS1', endTime: new Date(Date.now() + 1_000) },
      },
    });
    const outcome = await gate({
      '0001_widgets.sql': EXPAND_WIDGETS,
      '0002_drop_widget_name.sql': CONTRACT_NAME,
    });
    expect(outcome).toMatchObject({ verdict: 'Succeeded', applied: ['0002_drop_widget_name'] });
    expect(await tableColumns('widgets')).toEqual(['id']);
    expectReported('Succeeded');
  });

  test('a new version whose GET /health is not 200 fails the deployment', async () => {
    healthy(503);
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'fatal' });
    expect(outcome.reason).toMatch(/self-test of version 7 failed: GET \/health answered 503/);
    expectReported('Failed');
  });

  test('a new version that crashes fails the deployment', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: blob('{"errorMessage":"boom"}'),
    });
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    expect(outcome.verdict).toBe('Failed');
    expect(outcome.reason).toMatch(/raised Unhandled: .*boom/);
    expectReported('Failed');
  });

  test('an unreadable master secret reports Failed instead of hanging the deployment', async () => {
    secrets.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'retryable' });
    expectReported('Failed');
  });

  test('fails when too little Lambda time is left to migrate safely', async () => {
    healthy();
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS }, {}, 25_000);
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'fatal' });
    expect(outcome.reason).toMatch(/too little time left/);
    expect(await history()).toEqual([]);
  });

  test('applies the repository migrations (the set bundled into the hook) to an empty database', async () => {
    healthy();
    const url = new URL(db.url);
    const handler = createHandler({
      logger: silentLogger,
      tls: false,
      settings: {
        secretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:master-AbCdEf',
        host: url.hostname,
        port: Number(url.port),
        database: url.pathname.slice(1),
        functionName: FUNCTION,
        lockTimeoutMs: 5_000,
        statementTimeoutMs: 60_000,
        selfTestTimeoutMs: 10_000,
      },
    });
    const outcome = (await handler(EVENT, {
      getRemainingTimeInMillis: () => 600_000,
      awsRequestId: 'r',
    })) as GateOutcome;
    expect(outcome.verdict).toBe('Succeeded');
    expect(outcome.applied).toEqual(expect.arrayContaining(['0001_roles', '0003_accounts_and_notes']));
    expect(await tableColumns('notes')).toEqual(expect.arrayContaining(['id', 'owner_id', 'title']));
  });

  test('without a database it only self-tests the new version', async () => {
    healthy();
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS }, { secretArn: undefined });
    expect(outcome).toMatchObject({ verdict: 'Succeeded', applied: [] });
    expect(secrets).not.toHaveReceivedCommand(GetSecretValueCommand);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: FUNCTION, Qualifier: '7' });
    expect(await history()).toEqual([]);
    expectReported('Succeeded');
  });

  test('a rollback (target older than current) applies no migration and self-tests the target', async () => {
    healthy();
    deployment(7, 6);
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    expect(outcome).toMatchObject({
      verdict: 'Succeeded',
      applied: [],
      target: { current: '7', target: '6', rollback: true },
    });
    expect(outcome.reason).toMatch(
      /rollback from version 7 to 6: no migration applied; self-test of version 6 passed/,
    );
    expect(await history()).toEqual([]);
    expect(await tableColumns('widgets')).toEqual([]);
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: FUNCTION, Qualifier: '6' });
    expectReported('Succeeded');
  });

  test('a rollback whose target fails GET /health reports Failed (the target, not the live version, is tested)', async () => {
    healthy(500);
    deployment(12, 11);
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'fatal', applied: [] });
    expect(outcome.reason).toMatch(/self-test of version 11 failed: GET \/health answered 500/);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: FUNCTION, Qualifier: '11' });
    expectReported('Failed');
  });

  test('reads a YAML AppSpec as well as a JSON one (versions as YAML numbers)', async () => {
    healthy();
    deployment(9, 10, 'yaml');
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    expect(outcome).toMatchObject({ verdict: 'Succeeded', applied: ['0001_widgets'] });
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: FUNCTION, Qualifier: '10' });
  });

  test('refuses a deployment of another function and changes nothing', async () => {
    healthy();
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS }, { functionName: 'billing' });
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'refused', applied: [] });
    expect(outcome.reason).toMatch(/shifts 'api', not 'billing'/);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
    expect(await history()).toEqual([]);
    expectReported('Failed');
  });

  test('a deployment without a readable AppSpec reports Failed', async () => {
    healthy();
    codedeploy.on(GetDeploymentCommand).resolves({
      deploymentInfo: {
        applicationName: 'app',
        deploymentGroupName: 'group',
        revision: { revisionType: 'AppSpecContent', appSpecContent: { content: 'Resources: []' } },
      },
    });
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'fatal' });
    expect(outcome.reason).toMatch(/does not describe one Lambda function/);
    expectReported('Failed');
  });

  test('GetDeployment failing reports Failed instead of hanging the deployment', async () => {
    codedeploy.on(GetDeploymentCommand).rejects(new Error('AccessDeniedException'));
    const outcome = await gate({ '0001_widgets.sql': EXPAND_WIDGETS });
    expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'retryable' });
    expect(outcome.reason).toMatch(/AccessDeniedException/);
    expectReported('Failed');
  });

  describe('settings from the environment', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    test('a missing setting reports Failed at once, naming the variable', async () => {
      delete process.env.TARGET_FUNCTION_NAME;
      const handler = createHandler({ logger: silentLogger, tls: false });
      const outcome = (await handler(EVENT, {
        getRemainingTimeInMillis: () => 600_000,
        awsRequestId: 'r',
      })) as GateOutcome;
      expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'fatal' });
      expect(outcome.reason).toMatch(/misconfigured: environment variable TARGET_FUNCTION_NAME is not set/);
      expect(codedeploy).not.toHaveReceivedCommand(GetDeploymentCommand);
      expectReported('Failed');
    });

    test('an invalid setting reports Failed, naming the variable and the value', async () => {
      process.env.TARGET_FUNCTION_NAME = FUNCTION;
      process.env.DB_PORT = 'fivefourthreetwo';
      const handler = createHandler({ logger: silentLogger, tls: false });
      const outcome = (await handler(EVENT, {
        getRemainingTimeInMillis: () => 600_000,
        awsRequestId: 'r',
      })) as GateOutcome;
      expect(outcome.verdict).toBe('Failed');
      expect(outcome.reason).toMatch(
        /DB_PORT must be a whole number from 1 to 65535, got 'fivefourthreetwo'/,
      );
      expectReported('Failed');
    });
  });

  describe('total time budget (a 4-second Lambda timeout, 1 second kept to report)', () => {
    /** Lambda's remaining time, counting down from 4 s on the wall clock. */
    function fourSecondLambda() {
      const deadline = Date.now() + 4_000;
      const remaining = () => deadline - Date.now();
      let remainingAtReport: number | undefined;
      codedeploy.on(PutLifecycleEventHookExecutionStatusCommand).callsFake(() => {
        remainingAtReport = remaining();
        return {};
      });
      return { remaining, remainingAtReport: () => remainingAtReport };
    }

    test('two slow statements of one migration outrun the budget: Failed before the timeout, nothing committed', async () => {
      healthy();
      const lambdaClock = fourSecondLambda();
      // Each statement (2 s) fits the statement timeout; together they outrun the 3 s budget.
      const outcome = await gate(
        { '0001_slow.sql': SLOW_TWICE },
        { selfTestTimeoutMs: 500 },
        lambdaClock.remaining,
        1_000,
      );
      expect(outcome).toMatchObject({ verdict: 'Failed', classification: 'retryable', applied: [] });
      expect(outcome.reason).toMatch(/time budget of \d+ ms .* is spent; 1 database session\(s\) ended/);
      expect(lambdaClock.remainingAtReport()).toBeGreaterThan(0);
      expectReported('Failed');
      expect(await tableColumns('slow_marker')).toEqual([]);
      expect(await history()).toEqual([]);
      expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
    });

    test('two slow migrations: the second is not started without time for it, the first stays applied', async () => {
      healthy();
      const lambdaClock = fourSecondLambda();
      const outcome = await gate(
        { '0001_slow_a.sql': slow('slow_a'), '0002_slow_b.sql': slow('slow_b') },
        { selfTestTimeoutMs: 500 },
        () => lambdaClock.remaining() - 1_000,
        500,
      );
      expect(outcome).toMatchObject({ verdict: 'Failed', applied: ['0001_slow_a'] });
      expect(outcome.reason).toMatch(
        /too little time left to run migrations safely \(-?\d+ ms before 0002_slow_b/,
      );
      expect(lambdaClock.remainingAtReport()).toBeGreaterThan(0);
      expect(await history()).toEqual(['0001_slow_a']);
      expect(await tableColumns('slow_b')).toEqual([]);
      expectReported('Failed');
    });
  });

  test('rejects an event that is not from CodeDeploy without reporting anything', async () => {
    const handler = createHandler({ logger: silentLogger });
    await expect(
      handler({ hello: 'world' }, { getRemainingTimeInMillis: () => 1, awsRequestId: 'r' }),
    ).rejects.toThrow(/not a CodeDeploy lifecycle event/);
    expect(codedeploy).not.toHaveReceivedCommand(PutLifecycleEventHookExecutionStatusCommand);
  });
});
