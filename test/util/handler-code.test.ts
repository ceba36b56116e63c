import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SafeDeployment } from '../../lib/deployment/safe-deployment';
import { handlerCode, handlerDirectory } from '../../lib/util/handler-code';

const ROOT = join(__dirname, '..', '..');

/** Every `lambda/**\/index.ts` entry point, as `npm run build` finds them. */
function entryPoints(dir = join(ROOT, 'lambda')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return entryPoints(path);
    return e.name === 'index.ts' ? [relative(join(ROOT, 'lambda'), dir).split(sep).join('/')] : [];
  });
}

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Synthesizes (asset staging included: bundling is not skipped) and returns the staged directory. */
function stagedAsset(code: lambda.Code): { hash: string; dir: string } {
  const app = new App({
    outdir: outdirs[outdirs.push(mkdtempSync(join(tmpdir(), 'handler-code-'))) - 1],
    context: { 'aws:cdk:enable-asset-metadata': true },
  });
  const stack = new Stack(app, 'Test');
  new lambda.Function(stack, 'Fn', { code, handler: 'index.handler', runtime: lambda.Runtime.NODEJS_24_X });
  const assembly = app.synth();
  const template = assembly.getStackByName('Test').template as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function')!;
  const assetPath = fn.Metadata!['aws:asset:path'];
  return { hash: assetPath.replace(/^asset\./, ''), dir: join(assembly.directory, assetPath) };
}

describe('handlerCode', () => {
  const handlers = entryPoints().filter((h) => !h.startsWith('runtime') && !h.startsWith('shared'));

  test('every Lambda entry point in lambda/ has a prebuilt handler', () => {
    expect(handlers.length).toBeGreaterThanOrEqual(9);
    for (const handler of handlers)
      expect(existsSync(join(handlerDirectory(handler), 'index.js'))).toBe(true);
  });

  test('stages the prebuilt bundle and its source map as the function code', () => {
    const { dir } = stagedAsset(handlerCode('outbox-relay'));
    expect(readdirSync(dir).sort()).toEqual(['index.js', 'index.js.map']);
    expect(readFileSync(join(dir, 'index.js'), 'utf8')).toMatch(/exports|module\.exports/);
  });

  test('fails naming `npm run build` when a handler was not built', () => {
    expect(() => handlerCode('no-such-handler')).toThrow(/no-such-handler.*missing.*npm run build/s);
  });

  test('copies extra directories next to the handler, and their contents change the asset hash', () => {
    const migrations = mkdtempSync(join(tmpdir(), 'handler-code-migrations-'));
    try {
      writeFileSync(join(migrations, '0001_first.sql'), 'SELECT 1;\n');
      const code = () => handlerCode('deploy-hooks/migration-gate', { extraDirectories: { migrations } });
      const first = stagedAsset(code());
      expect(readdirSync(join(first.dir, 'migrations'))).toEqual(['0001_first.sql']);
      expect(readdirSync(first.dir).sort()).toEqual(['index.js', 'index.js.map', 'migrations']);

      writeFileSync(join(migrations, '0001_first.sql'), 'SELECT 2;\n');
      expect(stagedAsset(code()).hash).not.toEqual(first.hash);
    } finally {
      rmSync(migrations, { recursive: true, force: true });
    }
  });

  test('fails when an extra directory does not exist', () => {
    expect(() =>
      handlerCode('deploy-hooks/migration-gate', { extraDirectories: { migrations: '/no/such/dir' } }),
    ).toThrow(/'\/no\/such\/dir'.*does not exist/);
  });
});

describe('SafeDeployment migration gate', () => {
  function deploymentWith(migrationsDirectory: string): void {
    const stack = new Stack(new App(), 'Test');
    const fn = new lambda.Function(stack, 'Api', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 })'),
    });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    new SafeDeployment(stack, 'Deployment', {
      alias: new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion }),
      migrations: {
        secret: new secretsmanager.Secret(stack, 'Master'),
        endpoint: { hostname: 'db.example.internal', port: 5432 },
        connections: new ec2.Connections({ securityGroups: [new ec2.SecurityGroup(stack, 'Db', { vpc })] }),
        vpc,
        migrationsDirectory,
      },
    });
  }

  test('fails when the migrations directory does not exist, naming the prop', () => {
    expect(() => deploymentWith('/no/such/migrations')).toThrow(
      /no migrations to apply: '\/no\/such\/migrations' does not exist.*migrations\.migrationsDirectory/,
    );
  });

  test('fails when the migrations directory holds no .sql file', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-migrations-'));
    try {
      expect(() => deploymentWith(empty)).toThrow(/holds no \.sql file/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
