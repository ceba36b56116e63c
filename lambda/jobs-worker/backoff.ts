/** SQS refuses a visibility timeout above 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** Exponential backoff between deliveries of a failed job. */
export interface BackoffPolicy {
  /** Delay after the first failed delivery. */
  readonly baseSeconds: number;
  /** Upper bound of the delay (at most 12 hours, the SQS limit). */
  readonly maxSeconds: number;
}

/**
 * Seconds a failed message stays invisible before its next delivery: `base * 2^(n-1)` after
 * the n-th delivery (`ApproximateReceiveCount`), capped at `maxSeconds` and at the SQS limit.
 * Deterministic on purpose: deliveries of different messages are already spread by when they
 * first failed, and a predictable schedule is what the runbook can explain.
 */
export function backoffSeconds(receiveCount: number, policy: BackoffPolicy): number {
  const n = Number.isFinite(receiveCount) && receiveCount >= 1 ? Math.floor(receiveCount) : 1;
  const cap = Math.min(policy.maxSeconds, MAX_VISIBILITY_SECONDS);
  // 2^30 already exceeds any cap; avoid overflowing to Infinity for absurd receive counts.
  const delay = policy.baseSeconds * 2 ** Math.min(n - 1, 30);
  return Math.max(0, Math.min(cap, Math.round(delay)));
}
