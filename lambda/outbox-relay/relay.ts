import type { Logger } from '@aws-lambda-powertools/logger';
import {
  type SendMessageBatchRequestEntry,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Client } from 'pg';
import { JOB_TYPE_ATTRIBUTE, OUTBOX_ID_ATTRIBUTE } from '../shared/jobs';
import { JobMetric, type MetricsSink } from '../shared/job-metrics';

/** SQS accepts at most 10 messages per SendMessageBatch. */
export const MAX_SQS_BATCH = 10;

/** What the relay needs, injected (the handler builds the real ones). */
export interface RelayDeps {
  /** A connected client whose role may SELECT, UPDATE and DELETE outbox rows. */
  readonly db: Client;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly logger: Logger;
  readonly metrics: MetricsSink;
  /**
   * Rows claimed per transaction (1-10).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Stop claiming new batches once fewer milliseconds than this are left.
   * @default 10_000
   */
  readonly reserveMs?: number;
  /** Milliseconds left in the invocation. @default - unlimited (stops when the outbox is drained) */
  readonly remainingMs?: () => number;
  /**
   * Published outbox rows and processed-job entries older than this many days are deleted (in
   * bounded chunks). Must exceed every redelivery window: queue retention + DLQ retention.
   * @default 30
   */
  readonly retentionDays?: number;
}

/** What one run did. */
export interface RelayResult {
  /** Rows sent and stamped published. */
  readonly published: number;
  /** Rows SQS refused (left unpublished for the next run). */
  readonly failed: number;
  /** Unpublished rows left after the run. */
  readonly backlog: number;
  /** Age of the oldest unpublished row after the run, in seconds (0 when none). */
  readonly oldestAgeSeconds: number;
}

interface OutboxRow {
  id: string;
  job_type: string;
  payload: unknown;
  created_at: Date;
}

/**
 * Moves committed outbox rows to the queue, exactly once from the database's point of view.
 *
 * Each batch is one transaction: claim the oldest unpublished rows `FOR UPDATE SKIP LOCKED` (so
 * concurrent relays take disjoint rows), send them with SendMessageBatch, and stamp
 * `published_at` on the rows SQS accepted before committing. A crash before the commit leaves
 * the rows unpublished: they are sent again by the next run, and the worker's `processed_jobs`
 * ledger (keyed on the outbox id carried in the message) makes the re-send harmless.
 */
export async function relayOutbox(deps: RelayDeps): Promise<RelayResult> {
  const batchSize = Math.min(Math.max(deps.batchSize ?? MAX_SQS_BATCH, 1), MAX_SQS_BATCH);
  const reserveMs = deps.reserveMs ?? 10_000;
  let published = 0;
  let failed = 0;

  while (!deps.remainingMs || deps.remainingMs() > reserveMs) {
    const result = await relayBatch(deps, batchSize);
    published += result.published;
    failed += result.failed;
    // Drained, or SQS refused something: leave the rest for the next scheduled run rather than
    // spinning on the same rows.
    if (result.claimed < batchSize || result.failed > 0) break;
  }

  const { rows } = await deps.db.query<{ backlog: string; oldest_age_seconds: string }>(
    `SELECT count(*) AS backlog,
            coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_age_seconds
       FROM outbox WHERE published_at IS NULL`,
  );
  const backlog = Number(rows[0].backlog);
  const oldestAgeSeconds = Math.max(0, Math.round(Number(rows[0].oldest_age_seconds)));
  deps.metrics.addMetric(JobMetric.OUTBOX_PUBLISHED, 'Count', published);
  deps.metrics.addMetric(JobMetric.OUTBOX_SEND_FAILED, 'Count', failed);
  deps.metrics.addMetric(JobMetric.OUTBOX_BACKLOG, 'Count', backlog);
  deps.metrics.addMetric(JobMetric.OUTBOX_OLDEST_AGE, 'Seconds', oldestAgeSeconds);

  await pruneHistory(deps);
  deps.logger.info('outbox relay run', { published, failed, backlog, oldestAgeSeconds });
  return { published, failed, backlog, oldestAgeSeconds };
}

async function relayBatch(
  deps: RelayDeps,
  batchSize: number,
): Promise<{ claimed: number; published: number; failed: number }> {
  const { db } = deps;
  await db.query('BEGIN');
  try {
    const { rows } = await db.query<OutboxRow>(
      `SELECT id::text AS id, job_type, payload, created_at
         FROM outbox
        WHERE published_at IS NULL
        ORDER BY id
        LIMIT $1
          FOR UPDATE SKIP LOCKED`,
      [batchSize],
    );
    if (rows.length === 0) {
      await db.query('COMMIT');
      return { claimed: 0, published: 0, failed: 0 };
    }

    const accepted: string[] = [];
    const refused = new Map<string, string>();
    try {
      const response = await deps.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: deps.queueUrl, Entries: rows.map(toEntry) }),
      );
      for (const ok of response.Successful ?? []) if (ok.Id) accepted.push(fromEntryId(ok.Id));
      for (const no of response.Failed ?? []) {
        if (no.Id)
          refused.set(fromEntryId(no.Id), `${no.Code ?? 'Failed'}: ${no.Message ?? ''}`.slice(0, 1000));
      }
    } catch (error) {
      // The whole call failed (timeout, throttling after retries, SQS outage). Whether or not
      // SQS kept some of it, the rows stay unpublished and go again: the consumer dedupes.
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      for (const row of rows) refused.set(row.id, message.slice(0, 1000));
    }

    if (accepted.length > 0) {
      await db.query(
        'UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])',
        [accepted],
      );
    }
    for (const [id, error] of refused) {
      await db.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1::bigint', [
        id,
        error,
      ]);
    }
    await db.query('COMMIT');
    if (refused.size > 0) {
      deps.logger.warn('SQS refused outbox rows; they stay unpublished for the next run', {
        refused: Object.fromEntries(refused),
      });
    }
    return { claimed: rows.length, published: accepted.length, failed: refused.size };
  } catch (error) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function toEntry(row: OutboxRow): SendMessageBatchRequestEntry {
  return {
    Id: `outbox-${row.id}`,
    MessageBody: JSON.stringify({
      id: row.id,
      type: row.job_type,
      payload: row.payload,
      createdAt: row.created_at.toISOString(),
    }),
    MessageAttributes: {
      [OUTBOX_ID_ATTRIBUTE]: { DataType: 'Number', StringValue: row.id },
      [JOB_TYPE_ATTRIBUTE]: { DataType: 'String', StringValue: row.job_type },
    },
  };
}

function fromEntryId(entryId: string): string {
  return entryId.replace(/^outbox-/, '');
}

/** Deletes history past every redelivery window, a bounded chunk per run. */
async function pruneHistory(deps: RelayDeps): Promise<void> {
  const days = deps.retentionDays ?? 30;
  const outbox = await deps.db.query(
    `DELETE FROM outbox WHERE id IN (
       SELECT id FROM outbox WHERE published_at < now() - make_interval(days => $1) LIMIT 1000)`,
    [days],
  );
  const processed = await deps.db.query(
    `DELETE FROM processed_jobs WHERE job_id IN (
       SELECT job_id FROM processed_jobs WHERE processed_at < now() - make_interval(days => $1) LIMIT 1000)`,
    [days],
  );
  if ((outbox.rowCount ?? 0) + (processed.rowCount ?? 0) > 0) {
    deps.logger.info('pruned job history', {
      outboxRows: outbox.rowCount,
      processedJobs: processed.rowCount,
      olderThanDays: days,
    });
  }
}
