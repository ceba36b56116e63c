import {
  type MigrationFacts,
  refusedContracts,
} from '../../../lambda/deploy-hooks/migration-gate/contract-rule';

const appliedAt = new Date('2026-01-10T10:00:00Z');
const expand: MigrationFacts = { name: '0005_add_tags', phase: 'expand', state: 'applied', appliedAt };
const contract: MigrationFacts = {
  name: '0006_drop_labels',
  phase: 'contract',
  contracts: '0005',
  state: 'pending',
};

describe('contract rule: an expand must have been live for one full release', () => {
  test('allows the contract when a deployment ended successfully after the expand was applied', () => {
    expect(refusedContracts([expand, contract], new Date('2026-01-10T10:30:00Z'))).toEqual([]);
  });

  test('refuses when the last successful deployment ended before the expand was applied', () => {
    const refused = refusedContracts([expand, contract], new Date('2026-01-10T09:59:59Z'));
    expect(refused).toEqual([
      expect.objectContaining({
        migration: '0006_drop_labels',
        contracts: '0005',
        reason: expect.stringMatching(/not been live for one full release/),
      }),
    ]);
  });

  test('refuses when the deployment ended at the very instant the expand was applied', () => {
    expect(refusedContracts([expand, contract], appliedAt)).toHaveLength(1);
  });

  test('refuses when no deployment ever succeeded', () => {
    expect(refusedContracts([expand, contract], undefined)[0].reason).toMatch(
      /no successful deployment at all/,
    );
  });

  test('refuses when the expand is still pending (shipped in the same release)', () => {
    const pending = { ...expand, state: 'pending' as const, appliedAt: undefined };
    expect(refusedContracts([pending, contract], new Date())[0].reason).toMatch(/is not applied yet/);
  });

  test('refuses a contract naming a migration that is not an expand', () => {
    const other = { ...contract, name: '0007_drop_more', contracts: '0006' };
    const refused = refusedContracts(
      [expand, { ...contract, state: 'applied', appliedAt }, other],
      new Date(),
    );
    expect(refused.map((r) => r.reason)).toEqual(["'0006_drop_labels' is not an expand migration"]);
  });

  test('ignores applied contracts and expand migrations', () => {
    expect(refusedContracts([expand, { ...contract, state: 'applied', appliedAt }], undefined)).toEqual([]);
  });
});
