import { backoffSeconds, MAX_VISIBILITY_SECONDS } from '../../../lambda/jobs-worker/backoff';

describe('backoffSeconds', () => {
  const policy = { baseSeconds: 10, maxSeconds: 300 };

  test('doubles from the base with each delivery', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffSeconds(n, policy))).toEqual([10, 20, 40, 80, 160]);
  });

  test('never exceeds the maximum', () => {
    expect(backoffSeconds(6, policy)).toBe(300);
    expect(backoffSeconds(1_000, policy)).toBe(300);
  });

  test('never exceeds the SQS limit of 12 hours, whatever the policy says', () => {
    expect(backoffSeconds(40, { baseSeconds: 60, maxSeconds: 10 ** 9 })).toBe(MAX_VISIBILITY_SECONDS);
  });

  test('treats a missing or nonsensical receive count as the first delivery', () => {
    expect(backoffSeconds(Number.NaN, policy)).toBe(10);
    expect(backoffSeconds(0, policy)).toBe(10);
  });
});
