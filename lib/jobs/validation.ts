// Validation of BackgroundJobs' props at synth time: every error names the construct, the value
// received and what is allowed. Values that are unresolved tokens are skipped.
import { type Duration, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { VISIBILITY_TO_TIMEOUT_RATIO } from './props';

/** Throws when a prop of the BackgroundJobs at `scope` is out of range. */
export function validateBackgroundJobs(
  scope: Construct,
  v: {
    workerTimeout: Duration;
    visibilityTimeout: Duration;
    maxReceiveCount: number;
    maxConcurrency: number;
    batchSize: number;
    backoffBase: Duration;
    backoffMax: Duration;
    retentionPeriod: Duration;
    deadLetterRetention: Duration;
    maxMessageAge: Duration;
    historyRetention: Duration;
    parkAfterRefusals: number;
  },
): void {
  const fail = (message: string): never => {
    throw new Error(`BackgroundJobs '${scope.node.path}': ${message}`);
  };
  const resolved = (...values: Array<Duration | number>) =>
    values.every((value) => !Token.isUnresolved(typeof value === 'number' ? value : value.toString()));
  const s = (d: Duration) => d.toSeconds();

  if (resolved(v.workerTimeout, v.visibilityTimeout)) {
    if (s(v.visibilityTimeout) < VISIBILITY_TO_TIMEOUT_RATIO * s(v.workerTimeout)) {
      fail(
        `visibilityTimeout (${s(v.visibilityTimeout)}s) must be at least ${VISIBILITY_TO_TIMEOUT_RATIO} times ` +
          `the worker timeout (${s(v.workerTimeout)}s), or a batch can be delivered again while it is still ` +
          `being processed; set visibilityTimeout to at least ${VISIBILITY_TO_TIMEOUT_RATIO * s(v.workerTimeout)}s ` +
          'or shorten worker.timeout',
      );
    }
    if (s(v.visibilityTimeout) > 43_200) {
      fail(
        `visibilityTimeout (${s(v.visibilityTimeout)}s) must be at most 12 hours (SQS limit); shorten worker.timeout`,
      );
    }
  }
  if (
    resolved(v.maxReceiveCount) &&
    (!Number.isInteger(v.maxReceiveCount) || v.maxReceiveCount < 1 || v.maxReceiveCount > 1000)
  ) {
    fail(`maxReceiveCount must be an integer from 1 to 1000, got ${v.maxReceiveCount}`);
  }
  if (
    resolved(v.maxConcurrency) &&
    (!Number.isInteger(v.maxConcurrency) || v.maxConcurrency < 2 || v.maxConcurrency > 1000)
  ) {
    fail(
      `worker.maxConcurrency must be an integer from 2 to 1000 (SQS event source limits), got ${v.maxConcurrency}`,
    );
  }
  if (resolved(v.batchSize) && (!Number.isInteger(v.batchSize) || v.batchSize < 1 || v.batchSize > 10_000)) {
    fail(`worker.batchSize must be an integer from 1 to 10000, got ${v.batchSize}`);
  }
  if (resolved(v.backoffBase, v.backoffMax)) {
    if (s(v.backoffBase) < 1 || s(v.backoffBase) > s(v.backoffMax)) {
      fail(
        `backoff.base (${s(v.backoffBase)}s) must be at least 1 second and at most backoff.max (${s(v.backoffMax)}s)`,
      );
    }
    if (s(v.backoffMax) > 43_200)
      fail(`backoff.max (${s(v.backoffMax)}s) must be at most 12 hours (SQS limit)`);
  }
  if (resolved(v.backoffMax, v.maxMessageAge) && s(v.maxMessageAge) <= s(v.backoffMax)) {
    fail(
      `maxMessageAge (${s(v.maxMessageAge)}s) must exceed backoff.max (${s(v.backoffMax)}s), or an ordinary retry ` +
        'raises the oldest-message alarm; raise maxMessageAge or lower backoff.max',
    );
  }
  if (resolved(v.retentionPeriod, v.backoffMax, v.visibilityTimeout, v.maxReceiveCount)) {
    const needed = v.maxReceiveCount * (s(v.backoffMax) + s(v.visibilityTimeout));
    if (s(v.retentionPeriod) <= needed) {
      fail(
        `retentionPeriod (${s(v.retentionPeriod)}s) must exceed maxReceiveCount x (backoff.max + visibilityTimeout) ` +
          `= ${needed}s, or a failing job expires before it reaches the dead-letter queue; raise retentionPeriod`,
      );
    }
  }
  if (
    resolved(v.deadLetterRetention) &&
    (s(v.deadLetterRetention) < 60 || s(v.deadLetterRetention) > 1_209_600)
  ) {
    fail(
      `deadLetterRetentionPeriod must be between 1 minute and 14 days (SQS limits), got ${s(v.deadLetterRetention)}s`,
    );
  }
  if (resolved(v.historyRetention, v.retentionPeriod, v.deadLetterRetention)) {
    const window = s(v.retentionPeriod) + s(v.deadLetterRetention);
    if (s(v.historyRetention) <= window) {
      fail(
        `historyRetention (${v.historyRetention.toDays({ integral: false })} days) must exceed retentionPeriod + ` +
          `deadLetterRetentionPeriod (${window / 86_400} days): a job redriven from the DLQ after its ` +
          'processed_jobs entry was pruned would run twice',
      );
    }
  }
  if (
    resolved(v.parkAfterRefusals) &&
    (!Number.isInteger(v.parkAfterRefusals) || v.parkAfterRefusals < 1 || v.parkAfterRefusals > 1000)
  ) {
    fail(`parkAfterRefusals must be an integer from 1 to 1000, got ${v.parkAfterRefusals}`);
  }
}
