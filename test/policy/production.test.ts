import { decideProduction, readinessScore } from '../../lib/policy';

describe('production detection', () => {
  const base = { tags: {}, stackNames: ['Api'] };

  test.each([
    ['the flag', { ...base, flag: true }, true, 'the --production flag (every stack)'],
    [
      '--production-stack with a wildcard',
      { ...base, namedStacks: ['A*'] },
      true,
      'named by --production-stack A*',
    ],
    [
      'an Environment tag',
      { ...base, tags: { Environment: 'Production' } },
      true,
      'tag Environment=Production',
    ],
    ['a Stage tag', { ...base, tags: { Stage: 'prd' } }, true, 'tag Stage=prd'],
    [
      'a staging tag, whatever the name says',
      { tags: { Environment: 'staging' }, stackNames: ['api-prod'] },
      false,
      'tag Environment=staging',
    ],
    ['the stage name', { ...base, stageName: 'Prod' }, true, "stage name 'Prod'"],
    [
      'a word of the stack name',
      { tags: {}, stackNames: ['shop-api-prod'] },
      true,
      "stack name 'shop-api-prod'",
    ],
    [
      'a camel-case word of the stack name',
      { tags: {}, stackNames: ['MyAppProductionStack'] },
      true,
      "stack name 'MyAppProductionStack'",
    ],
    [
      'a name that only contains the letters',
      { tags: {}, stackNames: ['ProductCatalogStack'] },
      false,
      undefined,
    ],
    [
      'nothing at all',
      base,
      false,
      'no --production flag, environment tag, or production stage or stack name',
    ],
  ])('%s', (_name, evidence, production, why) => {
    const decision = decideProduction(evidence);
    expect(decision.production).toBe(production);
    if (why) expect(decision.why).toBe(why);
  });
});

describe('readiness score', () => {
  test('rounds to nearest: 2 of 3 is 67%', () => {
    expect(readinessScore(2, 3, true)).toBe(67);
  });
  test('never 100 while a finding stands, never 0 while something passed', () => {
    expect(readinessScore(999, 1000, true)).toBe(99);
    expect(readinessScore(1, 1000, true)).toBe(1);
    expect(readinessScore(0, 10, true)).toBe(0);
    expect(readinessScore(10, 10, false)).toBe(100);
    expect(readinessScore(0, 0, false)).toBe(100);
  });
  test('one cleanup item among blockers passed barely moves it; one blocker among cleanup items moves it a lot', () => {
    // weights: blocker 10, hardening 3, cleanup 1
    expect(readinessScore(10 * 10, 10 * 10 + 1, true)).toBe(99);
    expect(readinessScore(10 * 1, 10 * 1 + 10, true)).toBe(50);
  });
});
