import type { Logger } from '@aws-lambda-powertools/logger';

/** A notification to one recipient about one event. */
export interface Notification {
  /** The job that asked for it: the idempotency key of the delivery. */
  readonly jobId: string;
  /** Who receives it (the Cognito sub of the account). */
  readonly recipientId: string;
  /** What it is about, e.g. `note.created`. */
  readonly topic: string;
  /** Ids of the resources it is about; never their content. */
  readonly resource: Readonly<Record<string, string>>;
}

/**
 * Delivers notifications. Implementations must finish (or throw) within their own timeout, and
 * may throw to have the job retried with backoff; {@link PermanentJobError} marks a delivery
 * that can never succeed (the message goes to the DLQ without waiting out the backoff).
 */
export interface Notifier {
  send(notification: Notification): Promise<void>;
}

/** The default delivery: one structured log line per notification (swap in SES, SNS, ...). */
export class LogNotifier implements Notifier {
  constructor(private readonly logger: Logger) {}

  public async send(notification: Notification): Promise<void> {
    this.logger.info('notification delivered', {
      jobId: notification.jobId,
      recipientId: notification.recipientId,
      topic: notification.topic,
      resource: notification.resource,
      channel: 'log',
    });
  }
}

/** A failure that retrying cannot fix: the worker stops backing off and lets the message reach the DLQ. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}
