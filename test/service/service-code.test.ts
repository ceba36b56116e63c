/**
 * A service built from an adopter's `entry` (not the sample): everything around it — alias and
 * CodeDeploy canary, migration gate (with the adopter's migrations and health path), smoke test
 * (the adopter's checks), SLOs, alarms, edge, WAF, restore verification — is the same as for the
 * sample. Bundling is skipped here; test/adopt/express-mvp-synth.test.ts bundles for real.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Cache } from '../../lib/cache/cache';
import { loadEnvironmentConfig } from '../../lib/config';
import { Database } from '../../lib/database/database';
import { Network } from '../../lib/network/network';
import type { ServiceApplication } from '../../lib/service/application';
import { Service } from '../../lib/service/service';
import { ShipshapeStage } from '../../lib/stages/shipshape-stage';
import { newTestApp } from '../helpers/synth';

let dir: string;
let stage: ShipshapeStage;
let stateless: Template;
let waf: Template;

const SMOKE_CHECKS = [{ method: 'GET', path: '/todos', expectStatus: 200 }] as const;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipshape-service-code-'));
  writeFileSync(
    join(dir, 'handler.js'),
    'exports.handler = async () => ({ statusCode: 200, body: "ok" });\n',
  );
  writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion": 3, "packages": {}}\n');
  mkdirSync(join(dir, 'migrations'));
  writeFileSync(
    join(dir, 'migrations', '0001_todos.sql'),
    '-- phase: expand\n-- Up Migration\nCREATE TABLE todos (id bigint PRIMARY KEY);\n-- Down Migration\nDROP TABLE todos;\n',
  );
  const application: ServiceApplication = {
    entry: join(dir, 'handler.js'),
    projectRoot: dir,
    depsLockFilePath: join(dir, 'package-lock.json'),
    migrationsDirectory: join(dir, 'migrations'),
    healthPath: '/healthz',
    environment: { FEATURE_FLAGS: 'todos' },
    initialPolicy: [
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::todo-exports/*'] }),
    ],
    serviceName: 'todo-api',
    criticalTables: [{ name: 'todos', minRows: 0 }],
    smokeChecks: SMOKE_CHECKS,
  };
  stage = new ShipshapeStage(newTestApp(), 'Staging', {
    config: loadEnvironmentConfig('staging'),
    application,
  });
  stateless = Template.fromStack(stage.stateless);
  waf = Template.fromStack(
    stage.node.findAll().find((c) => c instanceof Stack && c.node.id === 'StatelessEdgeWaf') as Stack,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the function is the adopter’s handler, with their environment and permissions added to ours', () => {
  stateless.hasResourceProperties('AWS::Lambda::Function', {
    Handler: 'index.handler',
    Runtime: 'nodejs24.x',
    Environment: {
      Variables: Match.objectLike({
        FEATURE_FLAGS: 'todos',
        POWERTOOLS_SERVICE_NAME: 'todo-api',
        DB_USER: 'app',
        SHIPSHAPE_SCHEMA_VERSION: '0001_todos',
        CACHE_AUTH_SECRET_ARN: Match.anyValue(),
      }),
    },
  });
  stateless.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::todo-exports/*' }),
      ]),
    },
  });
});

test('the live alias is shifted by CodeDeploy with the gate and the smoke test as hooks', () => {
  stateless.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live' });
  stateless.hasResource('AWS::Lambda::Alias', {
    UpdatePolicy: {
      CodeDeployLambdaAliasUpdate: Match.objectLike({
        BeforeAllowTrafficHook: Match.anyValue(),
        AfterAllowTrafficHook: Match.anyValue(),
      }),
    },
  });
  stateless.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 1);
});

test('the gate self-tests the adopter’s health path; the smoke test runs their checks', () => {
  stateless.hasResourceProperties('AWS::Lambda::Function', {
    Environment: {
      Variables: Match.objectLike({ HEALTH_PATH: '/healthz', TARGET_FUNCTION_NAME: Match.anyValue() }),
    },
  });
  stateless.hasResourceProperties('AWS::Lambda::Function', {
    Environment: {
      Variables: Match.objectLike({
        SMOKE_HEALTH_PATH: '/healthz',
        SMOKE_CHECKS: JSON.stringify(SMOKE_CHECKS),
      }),
    },
  });
});

test('the edge routes the health path without authorization and everything else through the JWT authorizer, behind the WAF', () => {
  stateless.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: 'GET /healthz',
    AuthorizationType: 'NONE',
  });
  stateless.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: 'ANY /{proxy+}',
    AuthorizationType: 'JWT',
  });
  waf.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'CLOUDFRONT' });
});

test('SLO burn-rate alarms and the function alarms watch the adopted service', () => {
  const descriptions = Object.values(stateless.findResources('AWS::CloudWatch::Alarm')).map((a) =>
    String((a as { Properties: { AlarmDescription?: string } }).Properties.AlarmDescription ?? ''),
  );
  expect(descriptions.some((d) => /burn/i.test(d))).toBe(true);
  expect(stage.stateless.observability.deploymentRollbackAlarms.length).toBeGreaterThan(0);
});

test('restore verification checks the adopter’s tables and the platform heartbeat', () => {
  stateless.hasResourceProperties('AWS::Lambda::Function', {
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

describe('fails when the code is not given exactly once', () => {
  function service(props: Partial<ConstructorParameters<typeof Service>[2]>) {
    const stack = new Stack(newTestApp(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
    Object.defineProperty(stack, 'availabilityZones', { get: () => ['eu-west-1a', 'eu-west-1b'] });
    const network = new Network(stack, 'Network');
    return () =>
      new Service(stack, 'Service', {
        vpc: network.vpc,
        database: new Database(stack, 'Database', { vpc: network.vpc }),
        cache: new Cache(stack, 'Cache', { vpc: network.vpc }),
        migrationsDirectory: join(dir, 'migrations'),
        ...props,
      });
  }
  const code = lambda.Code.fromInline('exports.handler = async () => ({});');

  test('neither entry nor code', () => {
    expect(service({})).toThrow(
      "Service 'Test/Service': set exactly one of entry (a handler file bundled at synth) and code",
    );
  });
  test('both entry and code', () => {
    expect(service({ entry: join(dir, 'handler.js'), code, handler: 'index.handler' })).toThrow(
      'set exactly one of entry',
    );
  });
  test('code without handler', () => {
    expect(service({ code })).toThrow("code needs handler, e.g. 'index.handler'");
  });
  test('an entry that does not exist', () => {
    expect(service({ entry: join(dir, 'nope.js') })).toThrow(`entry ${join(dir, 'nope.js')} does not exist`);
  });
  test('an environment variable the construct sets itself', () => {
    expect(service({ code, handler: 'index.handler', environment: { DB_USER: 'root' } })).toThrow(
      'environment variable DB_USER is set by the construct',
    );
  });
  test('a health path that is not a plain path', () => {
    expect(service({ code, handler: 'index.handler', healthPath: 'health' })).toThrow(
      "healthPath must be a plain path starting with /, got 'health'",
    );
  });
});
