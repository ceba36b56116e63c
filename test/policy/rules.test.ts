import { Construct } from 'constructs';
import * as shipshape from '../../lib';
import { ASSEMBLY_RULES, READINESS_RULES } from '../../lib/policy';
import { templateResources } from '../../lib/policy/readiness-rules';
import { CASES } from './focused-cases';

describe('rule edges (focused cases)', () => {
  test.each(CASES.map((c) => [c.rule, c.name, c] as const))('%s: %s', (ruleId, _name, c) => {
    const rule = READINESS_RULES.find((r) => r.id === ruleId);
    expect(rule).toBeDefined();
    const resources = templateResources({ Resources: c.resources });
    const [first] = resources.values();
    const result = rule!.check(
      first,
      {
        resources,
        production: c.production ?? true,
        compositeAlarmInputs: new Set(),
        remoteBackupResources: [],
      },
      {},
    );
    expect(result.status).toBe(c.expected);
    if (c.mentions && result.status === 'non-compliant') {
      const text = c.mentions.startsWith('fix:') ? (result.fix ?? rule!.fix) : result.reasons.join('; ');
      expect(text).toContain(c.mentions.replace(/^fix:/, ''));
    }
  });
});

describe('fixes', () => {
  // Every construct class Shipshape exports: an outside team may not have any of them.
  const shipshapeConstructs = Object.entries(shipshape)
    .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Construct)
    .map(([name]) => name);

  test('the exported construct list is real (the check below can bite)', () => {
    expect(shipshapeConstructs).toEqual(
      expect.arrayContaining(['RestoreVerification', 'SafeDeployment', 'AlarmTopics']),
    );
  });

  const fixes = [...READINESS_RULES, ...ASSEMBLY_RULES].flatMap((r) => [
    [r.id, r.fix] as const,
    ...Object.entries(r.fixByType ?? {}).map(([type, fix]) => [`${r.id} on ${type}`, fix] as const),
  ]);

  test.each(fixes)('%s names the plain-CDK way before any Shipshape construct', (_id, fix) => {
    const mentions = shipshapeConstructs
      .map((name) => fix.search(new RegExp(`\\b${name}\\b`)))
      .filter((index) => index >= 0);
    // An L2 prop or an aws-cdk-lib class (`backupRetention:`, `codedeploy.LambdaDeploymentGroup`).
    const plain = fix.search(/`[^`]*(\b[a-z0-9_]+\.[A-Z]\w+|\b[a-z][A-Za-z]+: )/);
    expect(plain).toBeGreaterThanOrEqual(0);
    if (mentions.length > 0) expect(plain).toBeLessThan(Math.min(...mentions));
  });
});
