import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import {
  ASSEMBLY_RULES,
  ProductionReadinessChecks,
  READINESS_RULES,
  SEVERITIES,
  secretLookingValue,
} from '../../lib/policy';
import { readFindings, type PolicyFinding } from '../helpers/synth';
import { MVP_FIXTURES } from '../fixtures/audit';
import { addReadyStacks } from '../fixtures/ready-app';
import { FOCUSED_CASES } from './focused-cases';
import { buildUnreadyApp, UNREADY_OFFENDERS } from '../fixtures/unready-app';

/** Synthesizes an app with the pack and returns the pack's findings. */
function findingsOf(app: App): PolicyFinding[] {
  try {
    app.synth();
  } catch {
    // the pack fails synth on findings; the report lists them
  }
  return readFindings(app.outdir).filter((f) => f.plugin === 'ProductionReadiness');
}

function rulesAt(findings: PolicyFinding[], pathPrefix: string): string[] {
  return findings
    .filter((f) => f.path === pathPrefix || f.path.startsWith(`${pathPrefix}/`))
    .map((f) => f.rule);
}

describe('ProductionReadinessChecks', () => {
  let dir: string;
  let findings: PolicyFinding[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'readiness-'));
    // One app holding the unready stack and the compliant stacks: one synth for the file.
    const app = buildUnreadyApp(dir);
    addReadyStacks(app);
    Validations.of(app).addPlugins(new ProductionReadinessChecks(app));
    findings = findingsOf(app);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('every rule has an offender in the unready app, an MVP fixture or the focused cases below', () => {
    const covered = new Set([
      ...Object.keys(UNREADY_OFFENDERS),
      ...MVP_FIXTURES.flatMap((f) => f.planted.map((p) => p.rule)),
      ...FOCUSED_CASES,
    ]);
    expect(READINESS_RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([]);
  });

  describe.each(Object.keys(UNREADY_OFFENDERS).map((id) => [id] as const))('%s', (ruleId) => {
    const id = `ProductionReadiness-${ruleId}`;

    test('flags each non-compliant resource of the unready app', () => {
      for (const offender of UNREADY_OFFENDERS[ruleId]) expect(rulesAt(findings, offender)).toContain(id);
    });

    test('passes the compliant resources (production and staging stacks)', () => {
      expect(rulesAt(findings, 'Ready')).not.toContain(id);
      expect(rulesAt(findings, 'ReadyStaging')).not.toContain(id);
    });
  });

  test('the compliant stacks have no finding at all', () => {
    expect(rulesAt(findings, 'Ready')).toEqual([]);
    expect(rulesAt(findings, 'ReadyStaging')).toEqual([]);
  });

  test('findings name the reason, severity and group; blockers and hardening are errors, cleanup warnings', () => {
    const backups = findings.find((f) => f.rule === 'ProductionReadiness-Backups');
    expect(backups?.severity).toBe('error');
    expect(backups?.description).toContain('backups are kept 1 day(s); at least 7 are required');
    expect(backups?.description).toContain('[blocker, data]');
    const tags = findings.find((f) => f.rule === 'ProductionReadiness-SnapshotTags');
    expect(tags?.severity).toBe('warning');
    expect(tags?.description).toContain('CopyTagsToSnapshot is not enabled');
  });

  test('a staging database without deletion protection or Multi-AZ is not flagged, a production one is', () => {
    expect(rulesAt(findings, 'ReadyStaging/Database')).toEqual([]);
    expect(rulesAt(findings, 'Unready/Database')).toEqual(
      expect.arrayContaining(['ProductionReadiness-DeletionProtection', 'ProductionReadiness-MultiAZ']),
    );
  });

  test('an acknowledgement under an equivalent rule of another pack counts (AwsSolutions-SMG4 for SecretRotation)', () => {
    expect(rulesAt(findings, 'Ready/ApiSecret')).toEqual([]);
  });

  test('the inputs of a composite alarm need no action of their own', () => {
    expect(rulesAt(findings, 'Ready/FastBurn')).toEqual([]);
    expect(rulesAt(findings, 'Ready/SlowBurn')).toEqual([]);
  });

  test('the environment of a Lambda may name secrets by ARN or parameter name', () => {
    expect(rulesAt(findings, 'Ready/Function')).toEqual([]);
  });
});

describe('ProductionReadinessChecks options and acknowledgements', () => {
  function logGroupApp(production?: boolean): { app: App; stack: Stack } {
    const app = new App({
      outdir: mkdtempSync(join(tmpdir(), 'readiness-')),
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, 'Logs');
    new logs.LogGroup(stack, 'Forever', {
      retention: logs.RetentionDays.INFINITE,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(app).addPlugins(new ProductionReadinessChecks(app, { production }));
    return { app, stack };
  }

  test('an acknowledgement next to the resource silences its finding', () => {
    const { app } = logGroupApp();
    expect(findingsOf(app).map((f) => f.rule)).toEqual(['ProductionReadiness-LogGroupRetention']);

    const { app: acked, stack: ackedStack } = logGroupApp();
    Validations.of(ackedStack.node.findChild('Forever')).acknowledge({
      id: 'ProductionReadiness-LogGroupRetention',
      reason: 'audit log: kept forever by regulation',
    });
    expect(findingsOf(acked)).toEqual([]);
    rmSync(app.outdir, { recursive: true, force: true });
    rmSync(acked.outdir, { recursive: true, force: true });
  });

  test('validateScope runs without template files (rendered from the construct tree)', () => {
    const app = new App();
    const stack = new Stack(app, 'Direct');
    new logs.LogGroup(stack, 'Forever', { retention: logs.RetentionDays.INFINITE });
    const report = new ProductionReadinessChecks().validateScope(app);
    expect(report.success).toBe(false);
    expect(report.violations.map((v) => v.ruleName).sort()).toEqual([
      'ProductionReadiness-LogGroupRetention',
    ]);
  });

  test('production: true requires deletion protection on untagged stacks', () => {
    const app = new App();
    const stack = new Stack(app, 'Untagged');
    // Untagged, and neither its stage nor its name says production.
    new rds.CfnDBInstance(stack, 'Db', {
      engine: 'postgres',
      dbInstanceClass: 'db.t4g.micro',
      backupRetentionPeriod: 7,
      copyTagsToSnapshot: true,
      tags: [{ key: 'shipshape:restore-verified', value: 'yes' }],
    }).applyRemovalPolicy(RemovalPolicy.SNAPSHOT);
    const rules = (pack: ProductionReadinessChecks) =>
      pack.validateScope(app).violations.map((v) => v.ruleName);
    expect(rules(new ProductionReadinessChecks())).toEqual([]);
    expect(rules(new ProductionReadinessChecks(undefined, { production: true })).sort()).toEqual([
      'ProductionReadiness-DeletionProtection',
      'ProductionReadiness-MultiAZ',
    ]);
    expect(rules(new ProductionReadinessChecks(undefined, { minimumBackupRetentionDays: 14 }))).toEqual([
      'ProductionReadiness-Backups',
    ]);
  });

  test.each([0, 36, 2.5])('fails when minimumBackupRetentionDays is %p', (days) => {
    expect(() => new ProductionReadinessChecks(undefined, { minimumBackupRetentionDays: days })).toThrow(
      /minimumBackupRetentionDays must be a whole number of days from 1 to 35.*got/,
    );
  });
});

describe('secret-looking values', () => {
  test.each([
    ['AKIAIOSFODNN7EXAMPLE', 'an AWS access key id'],
    ['-----BEGIN RSA PRIVATE KEY-----\nabc', 'a PEM private key'],
    ['postgres://app:s3cret@db.internal:5432/app', 'a URL with an embedded password'],
    ['ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345', 'a known API token format'],
    ['q8Vx2LmZ9pR4tY7wK1nB6cD3fG5hJ0sA', 'a long high-entropy string'],
  ])('%s is %s', (value, kind) => {
    expect(secretLookingValue(value)).toBe(kind);
  });

  test.each([
    'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf',
    'https://runbooks.example.com/Abc123XyZ789QwErTyUiOp',
    '0003_accounts_and_notes',
    'postgres://db.internal:5432/app',
    'Shipshape/Deployments',
    '/shipshape/production/api-key',
    'NetworkPublicSubnet1SubnetBAFD76B4',
    'Staging/Stateful/Network/Resource/PublicSubnet1',
    'ProductionStatefulDatabaseSecret4F5FD6243fdaad7efa858a3daf9490cf0a702aeb',
  ])('%s is not a secret', (value) => {
    expect(secretLookingValue(value)).toBeUndefined();
  });
});

describe('RULES.md', () => {
  const rulesDoc = readFileSync(join(__dirname, '..', '..', 'lib', 'policy', 'RULES.md'), 'utf8');
  const seeds = rulesDoc.split(/^## /m).find((s) => s.startsWith('The seeds\n')) ?? '';
  const all = [...READINESS_RULES, ...ASSEMBLY_RULES];

  test.each(all.map((r) => [r.id, r] as const))(
    'documents %s (severity, seed, what, why, fix)',
    (ruleId, rule) => {
      const section = rulesDoc.split(/^## /m).find((s) => s.startsWith(`${ruleId}\n`));
      expect(section).toBeDefined();
      for (const part of ['**Severity**', '**Seed**', '**What**', '**Why**', '**Fix**'])
        expect(section).toContain(part);
      expect(section).toContain(`**Severity**: ${rule.severity}`);
      expect(section).toContain(`**Seed**: ${rule.seed}`);
      // The doc says what the rule code says: the same why and fix, word for word.
      expect(section).toContain(`**Why**: ${rule.why}`);
      expect(section).toContain(`**Fix**: ${rule.fix}`);
      expect(seeds).toContain(`**${rule.seed}**`);
    },
  );

  test('lists the rules blockers first, then hardening, then cleanup', () => {
    const order = [...rulesDoc.matchAll(/\*\*Severity\*\*: (\w+)/g)].map((m) => m[1]);
    expect(order).toHaveLength(all.length);
    expect(
      [...order].sort((a, b) => SEVERITIES.indexOf(a as never) - SEVERITIES.indexOf(b as never)),
    ).toEqual(order);
  });
});
