import type { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Client } from 'pg';
import { InvalidJobError, type JobMessage, parseJobMessage } from '../shared/jobs';
import { JobMetric, type MetricsSink } from '../shared/job-metrics';
import { type BackoffPolicy, backoffSeconds } from './backoff';
import { type Notifier, PermanentJobError } from './notifier';

/** What the worker needs, injected (the handler builds the real ones once per container). */
export interface WorkerDeps {
  /** A connected client whose role may INSERT into `processed_jobs`. */
  readonly db: Client;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly notifier: Notifier;
  readonly backoff: BackoffPolicy;
  /** Deliveries before SQS moves a message to the DLQ (for the log line only; SQS enforces it). */
  readonly maxReceiveCount: number;
  readonly logger: Logger;
  readonly metrics: MetricsSink;
}

/** How one message ended. */
export type Outcome = 'processed' | 'duplicate' | 'retry' | 'poison';

/**
 * Processes an SQS batch one message at a time and reports the failed ones
 * (`ReportBatchItemFailures`), so a failure never re-delivers the messages that succeeded.
 *
 * A failed message is made visible again after an exponential backoff (by changing its
 * visibility), so a flaky dependency is not hammered; a poison message (invalid, or a
 * {@link PermanentJobError}) is released at once and reaches the DLQ after `maxReceiveCount`
 * deliveries without waiting out the backoff.
 */
export async function processBatch(event: SQSEvent, deps: WorkerDeps): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const outcome = await processRecord(record, deps);
    if (outcome === 'retry' || outcome === 'poison')
      batchItemFailures.push({ itemIdentifier: record.messageId });
  }
  return { batchItemFailures };
}

async function processRecord(record: SQSRecord, deps: WorkerDeps): Promise<Outcome> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  const log = { messageId: record.messageId, receiveCount };
  let job: JobMessage | undefined;
  try {
    job = parseJobMessage(record.body);
    const outcome = await processOnce(job, deps);
    deps.metrics.addMetric(
      outcome === 'processed' ? JobMetric.JOBS_PROCESSED : JobMetric.JOBS_DUPLICATE,
      'Count',
      1,
    );
    deps.logger.info(outcome === 'processed' ? 'job processed' : 'duplicate delivery skipped', {
      ...log,
      jobId: job.id,
      jobType: job.type,
    });
    return outcome;
  } catch (error) {
    const poison = error instanceof InvalidJobError || error instanceof PermanentJobError;
    const lastAttempt = receiveCount >= deps.maxReceiveCount;
    // Poison, or out of attempts: release it now, so its next receive moves it to the DLQ.
    const delaySeconds = poison || lastAttempt ? 0 : backoffSeconds(receiveCount, deps.backoff);
    deps.metrics.addMetric(poison ? JobMetric.JOBS_POISON : JobMetric.JOBS_RETRIED, 'Count', 1);
    deps.logger.error(poison ? 'poison message' : 'job failed, will retry', {
      ...log,
      jobId: job?.id,
      jobType: job?.type,
      errorClass: poison ? 'fatal' : 'retryable',
      visibleAgainInSeconds: delaySeconds,
      movesToDeadLetterQueue: lastAttempt,
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
    await delayRedelivery(record, delaySeconds, deps);
    return poison ? 'poison' : 'retry';
  }
}

/**
 * Runs the job's effect at most once per job id: the id is inserted into `processed_jobs` in the
 * same transaction that wraps the effect. A concurrent duplicate blocks on the primary key until
 * the first commits (then skips) or rolls back (then takes over); a failed effect rolls the id
 * back out, so the retry runs it again.
 */
async function processOnce(job: JobMessage, deps: WorkerDeps): Promise<'processed' | 'duplicate'> {
  const { db } = deps;
  await db.query('BEGIN');
  try {
    const claimed = await db.query(
      'INSERT INTO processed_jobs (job_id, job_type) VALUES ($1, $2) ON CONFLICT (job_id) DO NOTHING RETURNING job_id',
      [job.id, job.type],
    );
    if (claimed.rowCount === 0) {
      await db.query('COMMIT');
      return 'duplicate';
    }
    await runJob(job, deps.notifier);
    await db.query('COMMIT');
    return 'processed';
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The effect of each job type. */
async function runJob(job: JobMessage, notifier: Notifier): Promise<void> {
  switch (job.type) {
    case 'note.created':
      return notifier.send({
        jobId: job.id,
        recipientId: job.payload.ownerId,
        topic: job.type,
        resource: { noteId: job.payload.noteId },
      });
  }
}

/** Best effort: when it fails, the queue's own visibility timeout still brings the message back. */
async function delayRedelivery(record: SQSRecord, seconds: number, deps: WorkerDeps): Promise<void> {
  try {
    await deps.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: deps.queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  } catch (error) {
    deps.logger.warn('could not change message visibility; the queue visibility timeout applies', {
      messageId: record.messageId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
