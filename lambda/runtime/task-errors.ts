/**
 * Error classes shared by handlers. Their `name` is what Step Functions matches in `Retry` and
 * `Catch`, so it is part of the contract with the state machines.
 */

/** The caller sent something invalid: do not retry. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** A transient failure (throttling, a resource in a passing state): retrying may succeed. */
export class RetryableError extends Error {
  override readonly name: string = 'RetryableError';
}

/** Something is wrong that retrying will not fix: alarm. */
export class FatalError extends Error {
  override readonly name: string = 'FatalError';
}
