/** The metric namespace of background jobs; the construct's alarms read the same one. */
export const JOBS_METRIC_NAMESPACE = 'Shipshape/Jobs';

/** Metric names published by the relay and the worker (EMF through Powertools Metrics). */
export const JobMetric = {
  /** Relay: unpublished outbox rows left after a run. */
  OUTBOX_BACKLOG: 'OutboxBacklog',
  /** Relay: age of the oldest unpublished outbox row after a run. */
  OUTBOX_OLDEST_AGE: 'OutboxOldestAgeSeconds',
  /** Relay: rows sent to the queue and stamped published. */
  OUTBOX_PUBLISHED: 'OutboxPublished',
  /** Relay: parked outbox rows (refused too often; wait for an operator) after a run. */
  OUTBOX_PARKED: 'OutboxParked',
  /** Relay: rows SQS refused or could not take (left unpublished, retried on the next run). */
  OUTBOX_SEND_FAILED: 'OutboxSendFailed',
  /** Worker: jobs acted on. */
  JOBS_PROCESSED: 'JobsProcessed',
  /** Worker: redeliveries of an already processed job, skipped. */
  JOBS_DUPLICATE: 'JobsDuplicate',
  /** Worker: failures that will be retried with backoff. */
  JOBS_RETRIED: 'JobsRetried',
  /** Worker: messages that can never succeed; they reach the DLQ after maxReceiveCount. */
  JOBS_POISON: 'JobsPoison',
} as const;

export type JobMetricName = (typeof JobMetric)[keyof typeof JobMetric];

/** The subset of Powertools `Metrics` the handlers use (a recorder in tests). */
export interface MetricsSink {
  addMetric(name: JobMetricName, unit: 'Count' | 'Seconds', value: number): void;
}
