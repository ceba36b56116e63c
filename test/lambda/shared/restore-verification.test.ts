import { throwawayInstanceIdentifier } from '../../../lambda/shared/restore-verification';

/** RDS: 1-63 letters, digits and hyphens; starts with a letter; no `--`; no trailing hyphen. */
const RDS_IDENTIFIER = /^[a-z](?!.*--)[a-z0-9-]{0,61}[a-z0-9]$/;

describe('throwawayInstanceIdentifier', () => {
  test('is stable for one execution, so a retried restore targets the same instance', () => {
    const name = '7a9c1d2e-0b3f-4c5d-8e6f-112233445566';
    expect(throwawayInstanceIdentifier('shipshape-staging-rv-', name)).toBe(
      throwawayInstanceIdentifier('shipshape-staging-rv-', name),
    );
  });

  test('differs between executions, even ones whose slugs collide', () => {
    expect(throwawayInstanceIdentifier('shipshape-rv-', 'Run_1')).not.toBe(
      throwawayInstanceIdentifier('shipshape-rv-', 'run-1'),
    );
  });

  test.each([
    'manual-20260101T040000',
    'a'.repeat(80),
    '___',
    'UPPER_case--and..dots',
    '7a9c1d2e-0b3f-4c5d-8e6f-112233445566',
  ])('is a valid RDS identifier with the prefix for execution name %s', (name) => {
    const id = throwawayInstanceIdentifier('shipshape-production-rv-', name);
    expect(id).toMatch(RDS_IDENTIFIER);
    expect(id.startsWith('shipshape-production-rv-')).toBe(true);
    expect(id.length).toBeLessThanOrEqual(63);
  });

  test('fails on a prefix RDS would reject', () => {
    expect(() => throwawayInstanceIdentifier('Shipshape_', 'run')).toThrow(
      /invalid identifier prefix 'Shipshape_'/,
    );
  });
});
