import { Stack, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { newTestApp, type PolicyFinding, readFindings, synthAppFindings } from '../helpers/synth';

function print(findings: PolicyFinding[]): void {
  for (const f of findings) console.log(`[${f.severity}] ${f.rule} at ${f.path}: ${f.description}`);
}

describe('policy checks', () => {
  test('both stages have zero unacknowledged cdk-nag errors and warnings', () => {
    const findings = synthAppFindings();
    print(findings);
    expect(findings.map((f) => `${f.rule} ${f.path}`)).toEqual([]);
  });

  test('the same check catches a non-compliant resource (the check can fail)', () => {
    const app = newTestApp();
    new sns.Topic(new Stack(app, 'Unready'), 'PlainTopic');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SNS3/);
    const findings = readFindings(app.outdir);
    expect(findings).toContainEqual(
      expect.objectContaining({
        rule: 'AwsSolutions-SNS3',
        path: 'Unready/PlainTopic/Resource',
        severity: 'error',
      }),
    );
  });
});
