import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildShipshapeApp } from '../../../lib/app';
import { HELP, run } from '../../../lib/cli/commands/audit';
import { ExitCode, main } from '../../../lib/cli/main';
import { auditAssembly, type AuditReport } from '../../../lib/policy';
import { SKIP_BUNDLING } from '../../helpers/synth';
import { buildUnreadyApp } from '../../fixtures/unready-app';
import { sarifViolations } from './sarif-schema';

const PATH_METADATA = { 'aws:cdk:enable-path-metadata': true };

/** A hand-written assembly of one stack: an alarm that pages, and a log group. */
function handAssembly(
  dir: string,
  logGroup: Record<string, unknown>,
  metadata?: Record<string, unknown>,
): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const template = {
    Resources: {
      Page: {
        Type: 'AWS::SNS::Topic',
        Properties: { Subscription: [{ Protocol: 'email', Endpoint: 'oncall@example.com' }] },
      },
      Errors: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmActions: [{ Ref: 'Page' }],
          AlarmDescription: 'Errors. Runbook: https://runbooks.example.com/errors.md',
        },
      },
      Logs: { Type: 'AWS::Logs::LogGroup', ...logGroup },
    },
  };
  writeFileSync(join(dir, 'Hand.template.json'), JSON.stringify(template, null, 1));
  if (metadata) writeFileSync(join(dir, 'Hand.metadata.json'), JSON.stringify(metadata));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      version: '1',
      artifacts: {
        Hand: {
          type: 'aws:cloudformation:stack',
          properties: { templateFile: 'Hand.template.json' },
          ...(metadata ? { additionalMetadataFile: 'Hand.metadata.json' } : {}),
        },
      },
    }),
  );
  return dir;
}

describe('shipshape audit', () => {
  let root: string;
  let unreadyDir: string;
  let ownDir: string;
  let out: jest.SpyInstance;
  let err: jest.SpyInstance;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'audit-'));
    unreadyDir = join(root, 'unready.out');
    buildUnreadyApp(unreadyDir).synth();

    ownDir = join(root, 'shipshape.out');
    const own = new App({
      outdir: ownDir,
      context: { ...SKIP_BUNDLING, ...PATH_METADATA },
      builtinCloudFormationValidation: false,
    });
    // The packs are tested by test/policy; the audit reads the assembly alone.
    buildShipshapeApp(own, { policyChecks: false });
    own.synth();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeEach(() => {
    out = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  const printed = (): string => out.mock.calls.map((c) => String(c[0])).join('\n');

  describe('on our own assembly (both stages, nested stage assemblies)', () => {
    let report: AuditReport;
    beforeAll(() => {
      report = auditAssembly(ownDir);
    });

    test('audits every stack of both stages', () => {
      expect(report.stacks.map((s) => s.name).sort()).toEqual([
        'Pipeline',
        'Production/Stateful',
        'Production/Stateless',
        'Production/StatelessEdgeAlarms',
        'Production/StatelessEdgeWaf',
        'Staging/Stateful',
        'Staging/Stateless',
        'Staging/StatelessEdgeAlarms',
        'Staging/StatelessEdgeWaf',
        'cross-region-stack-111111111111:us-east-1',
      ]);
      expect(report.stacks.every((s) => s.checked > 0)).toBe(true);
    });

    test('treats the Production stage as production because of its Environment tag, and says so', () => {
      const production = report.stacks.filter((s) => s.production);
      expect(production.map((s) => s.name).sort()).toEqual([
        'Production/Stateful',
        'Production/Stateless',
        'Production/StatelessEdgeAlarms',
        'Production/StatelessEdgeWaf',
      ]);
      expect(production.every((s) => s.productionReason === 'tag Environment=production')).toBe(true);
      expect(report.stacks.find((s) => s.name === 'Staging/Stateful')?.productionReason).toBe(
        'tag Environment=staging',
      );
    });

    test('has no finding: READY, score 100', () => {
      expect(
        report.findings.map((f) => `${f.rule} ${f.stack}/${f.logicalId}: ${f.reasons.join('; ')}`),
      ).toEqual([]);
      expect(report.verdict).toBe('READY');
      expect(report.score).toBe(100);
    });

    test('honours acknowledgements made under an equivalent rule, with their reason', () => {
      // The smoke-test password cannot rotate on its own (lib/deployment acknowledges AwsSolutions-SMG4).
      const smoke = report.acknowledged.find(
        (a) =>
          a.rule === 'ProductionReadiness-SecretRotation' &&
          a.logicalId.startsWith('DeploymentSmokeTestCredentials'),
      );
      expect(smoke?.acknowledgedAs).toBe('AwsSolutions-SMG4');
      expect(smoke?.reason.length).toBeGreaterThan(20);
    });

    test('exits 0 and prints READY with the production decisions', async () => {
      await expect(run([ownDir])).resolves.toBe(ExitCode.OK);
      expect(printed()).toContain('Result: READY');
      expect(printed()).toMatch(/production\s+Production\/Stateful\s+\(tag Environment=production\)/);
    });
  });

  describe('on a deliberately unready app', () => {
    let report: AuditReport;
    beforeAll(() => {
      report = auditAssembly(unreadyDir);
    });

    test('is NOT READY, and its blockers weigh the score down', () => {
      expect(report.verdict).toBe('NOT READY');
      expect(report.counts.blocker).toBeGreaterThan(0);
      expect(report.score).toBeLessThan(50);
    });

    test('prints blockers, then hardening, then cleanup, each finding with its resource and fix; exits 1', async () => {
      await expect(run([unreadyDir])).resolves.toBe(ExitCode.FAILED);
      const text = printed();
      const blockers = text.indexOf('Launch blockers');
      const hardening = text.indexOf('Hardening (');
      const cleanup = text.indexOf('Cleanup (');
      expect(blockers).toBeGreaterThan(0);
      expect(hardening).toBeGreaterThan(blockers);
      expect(cleanup).toBeGreaterThan(hardening);
      expect(text).toMatch(
        /CLEANUP\s+ProductionReadiness-LogGroupRetention\s+Unready ForeverLogs\w+ \(Unready\/ForeverLogs\/Resource\)/,
      );
      expect(text).toContain('- RetentionInDays is not set: logs never expire');
      expect(text).toContain('fix: `retention: logs.RetentionDays.ONE_MONTH`');
      expect(text).toContain('Result: NOT READY');
    });

    test('--json prints the report with severity and group per finding', async () => {
      await expect(run([unreadyDir, '--json'])).resolves.toBe(ExitCode.FAILED);
      const json = JSON.parse(printed()) as AuditReport;
      expect(json.verdict).toBe('NOT READY');
      expect(
        json.findings.find((f) => f.rule === 'ProductionReadiness-Backups' && f.logicalId === 'Database'),
      ).toEqual(
        expect.objectContaining({
          group: 'data',
          severity: 'blocker',
          stack: 'Unready',
          path: 'Unready/Database',
          reasons: ['backups are kept 1 day(s); at least 7 are required'],
        }),
      );
    });

    test('--format sarif is SARIF 2.1.0: valid against the schema, one result per finding, located in the template', async () => {
      await expect(run([unreadyDir, '--format', 'sarif'])).resolves.toBe(ExitCode.FAILED);
      const sarif = JSON.parse(printed()) as {
        version: string;
        runs: Array<{
          tool: { driver: { rules: Array<{ id: string }> } };
          results: Array<{
            ruleId: string;
            ruleIndex: number;
            level: string;
            locations: Array<{
              physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
            }>;
          }>;
        }>;
      };
      expect(sarifViolations(sarif)).toEqual([]);
      expect(sarif.version).toBe('2.1.0');
      const [sarifRun] = sarif.runs;
      expect(sarifRun.results).toHaveLength(report.findings.length);
      for (const result of sarifRun.results) {
        expect(sarifRun.tool.driver.rules[result.ruleIndex].id).toBe(result.ruleId);
      }
      const logs = sarifRun.results.find((r) => r.ruleId === 'ProductionReadiness-LogGroupRetention')!;
      expect(logs.level).toBe('note');
      const { uri } = logs.locations[0].physicalLocation.artifactLocation;
      expect(uri.endsWith('Unready.template.json')).toBe(true);
      const line = readFileSync(join(unreadyDir, 'Unready.template.json'), 'utf8').split('\n')[
        logs.locations[0].physicalLocation.region.startLine - 1
      ];
      expect(line).toMatch(/"ForeverLogs\w+": \{/);
      expect(sarifRun.results.find((r) => r.ruleId === 'ProductionReadiness-Backups')?.level).toBe('error');
    });

    test('--format markdown is a pull-request comment: verdict, production table, findings by severity', async () => {
      await expect(run([unreadyDir, '--format', 'markdown'])).resolves.toBe(ExitCode.FAILED);
      const md = printed();
      expect(md.split('\n')[0]).toMatch(/^## ❌ Production readiness: NOT READY: \d+ blockers?/);
      expect(md).toContain('| `Unready` | yes | tag Environment=production |');
      expect(md.indexOf('### Launch blockers')).toBeLessThan(md.indexOf('### Cleanup'));
      expect(md).toMatch(
        /\| Data \| `ProductionReadiness-Backups` \| Unready Database \(Unready\/Database\) \|/,
      );
    });

    test('--min-backup-retention changes the threshold', () => {
      const lenient = auditAssembly(unreadyDir, { minimumBackupRetentionDays: 1 });
      expect(
        lenient.findings.some((f) => f.rule === 'ProductionReadiness-Backups' && f.logicalId === 'Database'),
      ).toBe(false);
    });
  });

  describe('severity and production on a small assembly', () => {
    test('one cleanup finding: READY, a high score (not 0%), exit 1 by default and 0 with --fail-on blocker', async () => {
      const dir = handAssembly(join(root, 'cleanup-only'), {});
      const report = auditAssembly(dir);
      expect(report.findings.map((f) => f.rule)).toEqual(['ProductionReadiness-LogGroupRetention']);
      expect(report.verdict).toBe('READY');
      expect(report.score).toBeGreaterThanOrEqual(90);
      expect(report.score).toBeLessThan(100);
      await expect(run([dir])).resolves.toBe(ExitCode.FAILED);
      await expect(run([dir, '--fail-on', 'blocker'])).resolves.toBe(ExitCode.OK);
      await expect(run([dir, '--fail-on', 'hardening'])).resolves.toBe(ExitCode.OK);
    });

    test('says when no stack is treated as production, and --production-stack names one', async () => {
      const dir = handAssembly(join(root, 'unnamed'), { Properties: { RetentionInDays: 30 } });
      await run([dir]);
      expect(printed()).toContain('No stack was treated as production');
      const named = auditAssembly(dir, { productionStacks: ['Ha*'] });
      expect(named.stacks[0]).toEqual(
        expect.objectContaining({ production: true, productionReason: 'named by --production-stack Ha*' }),
      );
    });

    test('a finding acknowledged in template metadata (cdk-nag v2) is reported, not failed', () => {
      const dir = handAssembly(join(root, 'nag-v2'), {
        Metadata: {
          cdk_nag: {
            rules_to_suppress: [
              { id: 'ProductionReadiness-LogGroupRetention', reason: 'audit trail, kept by law' },
            ],
          },
        },
      });
      const report = auditAssembly(dir);
      expect(report.findings).toEqual([]);
      expect(report.acknowledged).toEqual([
        expect.objectContaining({
          logicalId: 'Logs',
          acknowledgedAs: 'ProductionReadiness-LogGroupRetention',
          reason: 'audit trail, kept by law',
        }),
      ]);
    });

    test('a finding acknowledged on an ancestor construct under an equivalent id (assembly metadata) is reported, not failed', () => {
      const dir = handAssembly(
        join(root, 'acknowledged'),
        { Metadata: { 'aws:cdk:path': 'Hand/Audit/Logs/Resource' } },
        {
          '/Hand/Audit': [
            {
              type: 'aws:cdk:acknowledged-rules',
              data: {
                'Annotation::NIST.800.53.R5-CloudWatchLogGroupRetentionPeriod': 'kept for seven years by law',
              },
            },
          ],
        },
      );
      const report = auditAssembly(dir);
      expect(report.findings).toEqual([]);
      expect(report.acknowledged[0]).toEqual(
        expect.objectContaining({
          acknowledgedAs: 'NIST.800.53.R5-CloudWatchLogGroupRetentionPeriod',
          reason: 'kept for seven years by law',
        }),
      );
    });

    test('an app without any alarm is NOT READY (AlarmPagesHuman), not 66–75%', () => {
      const dir = join(root, 'no-alarms');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'S.template.json'),
        JSON.stringify({ Resources: { D: { Type: 'AWS::CloudWatch::Dashboard', Properties: {} } } }),
      );
      writeFileSync(
        join(dir, 'manifest.json'),
        JSON.stringify({
          version: '1',
          artifacts: {
            S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } },
          },
        }),
      );
      const report = auditAssembly(dir);
      expect(report.verdict).toBe('NOT READY');
      expect(report.findings).toEqual([
        expect.objectContaining({
          rule: 'ProductionReadiness-AlarmPagesHuman',
          stack: undefined,
          reasons: ['the assembly has no alarms at all'],
        }),
      ]);
    });
  });

  test('--help documents formats, production detection and exit codes, through the CLI entry', async () => {
    await expect(main(['audit', '--help'])).resolves.toBe(ExitCode.OK);
    const help = printed();
    expect(help).toBe(HELP);
    for (const text of [
      '--format <text|json|sarif|markdown>',
      'sarif     SARIF 2.1.0',
      'markdown  for a pull-request comment',
    ]) {
      expect(help).toContain(text);
    }
    expect(help).toContain('Production detection');
    expect(help).toContain('--production-stack <name>');
    expect(help).toMatch(
      /Exit codes:\n\s+0\s+no finding at or above --fail-on[^\n]*\n\s+1\s+at least one finding[^\n]*\n\s+2\s+bad arguments/,
    );
  });

  test('fails when the directory is not a cloud assembly', async () => {
    await expect(run([join(root, 'nowhere')])).resolves.toBe(ExitCode.USAGE);
    expect(err.mock.calls[0][0]).toMatch(/nowhere is not a directory/);
    await expect(run([root])).resolves.toBe(ExitCode.USAGE);
    expect(err.mock.calls[1][0]).toMatch(/no manifest.json: not a cloud assembly/);
  });

  test.each([['0'], ['36'], ['seven']])('fails when --min-backup-retention is %s', async (value) => {
    await expect(run([unreadyDir, '--min-backup-retention', value])).resolves.toBe(ExitCode.USAGE);
    expect(err.mock.calls[0][0]).toContain(
      `--min-backup-retention must be a whole number of days from 1 to 35, got '${value}'`,
    );
  });

  test('an unknown option gets a message with balanced quotes that names it', async () => {
    await expect(run(['--frobnicate'])).resolves.toBe(ExitCode.USAGE);
    const message = String(err.mock.calls[0][0]);
    expect(message).toContain('unknown option --frobnicate');
    expect((message.match(/'/g) ?? []).length % 2).toBe(0);
    expect((message.match(/"/g) ?? []).length % 2).toBe(0);
  });

  test.each([
    [['--format', 'html'], "--format must be one of text, json, sarif, markdown, got 'html'"],
    [['--json', '--format', 'sarif'], '--json contradicts --format sarif'],
    [['--fail-on', 'warning'], "--fail-on must be one of blocker, hardening, cleanup, got 'warning'"],
    [['a', 'b'], 'expected one assembly directory, got a b'],
  ])('fails before reading anything on %j', async (args, message) => {
    await expect(run(args)).resolves.toBe(ExitCode.USAGE);
    expect(err.mock.calls[0][0]).toContain(message);
  });
});
