import { readFileSync } from 'node:fs';
import { packOf, renderSecurityReport } from '../../lib/policy/security-report';
import { generateSecurityReport, SECURITY_REPORT_PATH } from '../../scripts/security-report';

describe('docs/security.md', () => {
  let generated: string;
  beforeAll(() => {
    generated = generateSecurityReport();
  });

  test('is up to date with the acknowledgements in the code (run `npm run security-report`)', () => {
    expect(readFileSync(SECURITY_REPORT_PATH, 'utf8')).toBe(generated);
  });

  test('lists acknowledgements of every pack we run, each with a reason', () => {
    for (const pack of ['AwsSolutions', 'NIST.800.53.R5', 'Serverless', 'CloudFormation-Validate']) {
      expect(generated).toContain(`## ${pack}\n`);
    }
    const entries = generated.split('\n').filter((l) => l.startsWith('- `'));
    expect(entries.length).toBeGreaterThan(20);
    for (const entry of entries) expect(entry).toMatch(/^- `[^`]+` \([^)]+\): \S.{20,}/);
  });

  test('merges an acknowledgement shared by both stages and keeps a stage-only one apart', () => {
    expect(generated).toMatch(
      /`Stateful\/Database\/Resource` \(Production, Staging\): PostgreSQL keeps its default port/,
    );
    expect(generated).toMatch(/`Stateful\/Database\/Resource` \(Staging\): Deletion protection is off/);
  });
});

describe('renderSecurityReport', () => {
  test('groups by pack, then rule', () => {
    const text = renderSecurityReport([
      {
        rule: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray has no resource scoping.',
        path: 'Stateless/Fn',
        stages: ['Staging'],
      },
      {
        rule: 'NIST.800.53.R5-LambdaDLQ',
        reason: 'Invoked synchronously.',
        path: 'Stateless/Fn',
        stages: ['Production', 'Staging'],
      },
    ]);
    expect(text).toContain('2 acknowledgements over 2 rules.');
    expect(text).toContain(
      '## AwsSolutions\n\n### `AwsSolutions-IAM5[Resource::*]`\n\n- `Stateless/Fn` (Staging): X-Ray has no resource scoping.',
    );
    expect(text).toContain(
      '## NIST.800.53.R5\n\n### `NIST.800.53.R5-LambdaDLQ`\n\n- `Stateless/Fn` (Production, Staging): Invoked synchronously.',
    );
  });

  test.each([
    ['AwsSolutions-IAM5[Resource::arn:aws:s3:::x-y/*]', 'AwsSolutions'],
    ['NIST.800.53.R5-RDSInBackupPlan', 'NIST.800.53.R5'],
    ['CloudFormation-Validate::W3010', 'CloudFormation-Validate'],
    ['ProductionReadiness-StatefulRetain', 'ProductionReadiness'],
  ])('%s belongs to %s', (rule, pack) => {
    expect(packOf(rule)).toBe(pack);
  });
});
