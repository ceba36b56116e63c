import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildShipshapeApp } from '../../../lib/app';
import { run } from '../../../lib/cli/commands/audit';
import { ExitCode, main } from '../../../lib/cli/main';
import { auditAssembly, type AuditReport, READINESS_RULES } from '../../../lib/policy';
import { SKIP_BUNDLING } from '../../helpers/synth';
import { buildUnreadyApp, UNREADY_OFFENDERS } from '../../fixtures/unready-app';

const PATH_METADATA = { 'aws:cdk:enable-path-metadata': true };

describe('shipshape audit', () => {
  let root: string;
  let unreadyDir: string;
  let ownDir: string;
  let out: jest.SpyInstance;
  let err: jest.SpyInstance;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'audit-'));
    unreadyDir = join(root, 'unready.out');
    const unready = buildUnreadyApp(unreadyDir);
    unready.synth();

    ownDir = join(root, 'shipshape.out');
    const own = new App({
      outdir: ownDir,
      context: { ...SKIP_BUNDLING, ...PATH_METADATA },
      builtinCloudFormationValidation: false,
    });
    // The packs are tested by test/policy; the audit reads the templates alone.
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

  describe('on our own assembly (nested stage assemblies)', () => {
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
    });

    test('knows production from the Environment stack tag', () => {
      const production = report.stacks.filter((s) => s.production).map((s) => s.name);
      expect(production.length).toBe(4);
      expect(production.every((name) => name.startsWith('Production/'))).toBe(true);
    });

    test('every applicable check passes', () => {
      const failures = report.stacks.flatMap((s) =>
        s.checks
          .filter((c) => c.status === 'fail')
          .map((c) => `${s.name} ${c.rule}: ${JSON.stringify(c.offenders)}`),
      );
      expect(failures).toEqual([]);
      expect(report.passed).toBeGreaterThan(0);
      expect(report.score).toBe(100);
    });

    test('exits 0 and prints READY', async () => {
      await expect(run([ownDir])).resolves.toBe(ExitCode.OK);
      expect(printed()).toContain('Result: READY');
      expect(printed()).toContain('Score: 100%');
    });
  });

  describe('on a deliberately unready app', () => {
    let report: AuditReport;
    beforeAll(() => {
      report = auditAssembly(unreadyDir);
    });

    test.each(READINESS_RULES.map((r) => [r.id] as const))(
      'finds the %s failure with the construct path',
      (ruleId) => {
        const check = report.stacks[0].checks.find((c) => c.rule === `ProductionReadiness-${ruleId}`);
        expect(check?.status).toBe('fail');
        const paths = check?.offenders.map((o) => o.path) ?? [];
        for (const offender of UNREADY_OFFENDERS[ruleId]) expect(paths).toContain(offender);
        expect(check?.offenders.every((o) => o.reasons.length > 0 && o.logicalId.length > 0)).toBe(true);
      },
    );

    test('scores 0% and exits 1 with each failure, its resource and the fix', async () => {
      expect(report.score).toBe(0);
      expect(report.ok).toBe(false);
      await expect(run([unreadyDir])).resolves.toBe(ExitCode.FAILED);
      const text = printed();
      expect(text).toContain('FAIL  ProductionReadiness-LogGroupRetention');
      expect(text).toMatch(/ForeverLogs\w+ \(Unready\/ForeverLogs\/Resource\): RetentionInDays is not set/);
      expect(text).toContain('fix: Set RetentionInDays');
      expect(text).toContain('Result: NOT READY');
    });

    test('--json prints the machine-readable report', async () => {
      await expect(run([unreadyDir, '--json'])).resolves.toBe(ExitCode.FAILED);
      const json = JSON.parse(printed()) as AuditReport;
      expect(json.failed).toBe(READINESS_RULES.length);
      expect(
        json.stacks[0].checks.find((c) => c.rule === 'ProductionReadiness-RDSBackups')?.offenders,
      ).toEqual([
        {
          logicalId: 'Database',
          path: 'Unready/Database',
          reasons: [
            'backups are kept 1 day(s); at least 7 are required',
            'CopyTagsToSnapshot is not enabled',
          ],
        },
      ]);
    });

    test('--min-backup-retention changes the threshold', () => {
      const lenient = auditAssembly(unreadyDir, { minimumBackupRetentionDays: 1 });
      const check = lenient.stacks[0].checks.find((c) => c.rule === 'ProductionReadiness-RDSBackups');
      expect(check?.offenders[0].reasons).toEqual(['CopyTagsToSnapshot is not enabled']);
    });
  });

  test('a finding acknowledged in template metadata is reported, not failed', () => {
    const dir = join(root, 'acknowledged');
    const template = {
      Resources: {
        Logs: {
          Type: 'AWS::Logs::LogGroup',
          Metadata: {
            cdk_nag: {
              rules_to_suppress: [
                { id: 'ProductionReadiness-LogGroupRetention', reason: 'audit trail, kept by law' },
              ],
            },
          },
        },
      },
    };
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, 'Hand.template.json'), JSON.stringify(template));
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({
        version: '1',
        artifacts: {
          Hand: { type: 'aws:cloudformation:stack', properties: { templateFile: 'Hand.template.json' } },
        },
      }),
    );
    const report = auditAssembly(dir);
    const check = report.stacks[0].checks.find((c) => c.rule === 'ProductionReadiness-LogGroupRetention');
    expect(check?.status).toBe('pass');
    expect(check?.acknowledged).toEqual([
      { logicalId: 'Logs', path: undefined, reason: 'audit trail, kept by law' },
    ]);
  });

  test('--help shows examples and exit codes, through the CLI entry', async () => {
    await expect(main(['audit', '--help'])).resolves.toBe(ExitCode.OK);
    expect(printed()).toContain('Examples:');
    expect(printed()).toContain('Exit codes: 0 every check passed, 1 at least one check failed');
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

  test('fails on an unknown flag or two directories', async () => {
    await expect(run(['--frobnicate'])).resolves.toBe(ExitCode.USAGE);
    await expect(run([unreadyDir, ownDir])).resolves.toBe(ExitCode.USAGE);
    expect(err.mock.calls[1][0]).toContain('expected one assembly directory');
  });
});
