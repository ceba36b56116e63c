import { READINESS_RULES } from '../../lib/policy';
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
