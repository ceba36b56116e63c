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
  /**
   * Per-row refusals by SQS after which a row is parked (`parked_at` set): it leaves the relay's
   * queue until an operator releases it (runbooks/outbox-parked.md).
   * @default 5
   */
  readonly parkAfterRefusals?: number;
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
  /** Rows SQS refused or could not take in this run (left unpublished for the next run or parked). */
  readonly failed: number;
  /** Rows parked by this run (refused `parkAfterRefusals` times). */
  readonly parkedNow: number;
  /** Unpublished rows left after the run, parked rows excluded. */
  readonly backlog: number;
  /** Parked rows (unpublished, waiting for an operator) after the run. */
  readonly parked: number;
  /** Age of the oldest unpublished, unparked row after the run, in seconds (0 when none). */
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
 *
 * A row SQS refuses (a per-entry `Failed` entry of the batch response, which SQS returns for each
 * message it cannot enqueue while accepting the others:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_BatchResultErrorEntry.html)
 * does not hold up the rest: the
 * run skips it and keeps draining at full rate, and after `parkAfterRefusals` refusals across
 * runs the row is parked (`parked_at`) and leaves the claim query until an operator releases it.
 * A failed call as a whole (timeout, outage) ends the run without counting as a refusal of any
 * row: the next run retries, and an outage parks nothing.
 */
export async function relayOutbox(deps: RelayDeps): Promise<RelayResult> {
  const batchSize = Math.min(Math.max(deps.batchSize ?? MAX_SQS_BATCH, 1), MAX_SQS_BATCH);
  const reserveMs = deps.reserveMs ?? 10_000;
  const parkAfter = Math.max(deps.parkAfterRefusals ?? 5, 1);
  let published = 0;
  let failed = 0;
  let parkedNow = 0;
  /** Rows refused in this run: skipped by later batches of the same run. */
  const skipped: string[] = [];

  while (!deps.remainingMs || deps.remainingMs() > reserveMs) {
    const result = await relayBatch(deps, batchSize, parkAfter, skipped);
    published += result.published;
    failed += result.failed;
    parkedNow += result.parked;
    skipped.push(...result.refused);
    // Drained, or the call failed as a whole (SQS unreachable): leave the rest for the next
    // scheduled run rather than spinning on an outage.
    if (result.claimed < batchSize || result.outage) break;
  }

  const { rows } = await deps.db.query<{ backlog: string; parked: string; oldest_age_seconds: string }>(
    `SELECT count(*) FILTER (WHERE parked_at IS NULL) AS backlog,
            count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
            coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)), 0)
              AS oldest_age_seconds
       FROM outbox WHERE published_at IS NULL`,
  );
  const backlog = Number(rows[0].backlog);
  const parked = Number(rows[0].parked);
  const oldestAgeSeconds = Math.max(0, Math.round(Number(rows[0].oldest_age_seconds)));
  deps.metrics.addMetric(JobMetric.OUTBOX_PUBLISHED, 'Count', published);
  deps.metrics.addMetric(JobMetric.OUTBOX_SEND_FAILED, 'Count', failed);
  deps.metrics.addMetric(JobMetric.OUTBOX_BACKLOG, 'Count', backlog);
  deps.metrics.addMetric(JobMetric.OUTBOX_PARKED, 'Count', parked);
  deps.metrics.addMetric(JobMetric.OUTBOX_OLDEST_AGE, 'Seconds', oldestAgeSeconds);

  await pruneHistory(deps);
  deps.logger.info('outbox relay run', { published, failed, parkedNow, backlog, parked, oldestAgeSeconds });
  return { published, failed, parkedNow, backlog, parked, oldestAgeSeconds };
}

interface BatchResult {
  readonly claimed: number;
  readonly published: number;
  readonly failed: number;
  readonly parked: number;
  /** Ids SQS refused one by one (not on an outage). */
  readonly refused: string[];
  /** The call failed as a whole. */
  readonly outage: boolean;
}

async function relayBatch(
  deps: RelayDeps,
  batchSize: number,
  parkAfter: number,
  skipped: readonly string[],
): Promise<BatchResult> {
  const { db } = deps;
  await db.query('BEGIN');
  try {
    const { rows } = await db.query<OutboxRow>(
      `SELECT id::text AS id, job_type, payload, created_at
         FROM outbox
        WHERE published_at IS NULL AND parked_at IS NULL AND outbox.id <> ALL($2::bigint[])
        -- outbox.id, not the text alias \`id\`: oldest first means numeric order (10 after 9).
        ORDER BY outbox.id
        LIMIT $1
          FOR UPDATE SKIP LOCKED`,
      [batchSize, skipped],
    );
    if (rows.length === 0) {
      await db.query('COMMIT');
      return { claimed: 0, published: 0, failed: 0, parked: 0, refused: [], outage: false };
    }

    const accepted: string[] = [];
    const refused = new Map<string, string>();
    let outage: string | undefined;
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
      outage = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 1000);
    }

    if (accepted.length > 0) {
      await db.query(
        'UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])',
        [accepted],
      );
    }
    if (outage !== undefined) {
      await db.query(
        'UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])',
        [rows.map((row) => row.id), outage],
      );
    }
    let parked = 0;
    for (const [id, error] of refused) {
      const result = await db.query<{ parked: boolean }>(
        `UPDATE outbox
            SET attempts = attempts + 1, refusals = refusals + 1, last_error = $2,
                parked_at = CASE WHEN refusals + 1 >= $3 THEN now() END
          WHERE id = $1::bigint
          RETURNING parked_at IS NOT NULL AS parked`,
        [id, error, parkAfter],
      );
      if (result.rows[0]?.parked) parked += 1;
    }
    await db.query('COMMIT');
    if (outage !== undefined) {
      deps.logger.warn('SendMessageBatch failed; the rows stay unpublished for the next run', {
        error: outage,
      });
    }
    if (refused.size > 0) {
      deps.logger.warn(
        'SQS refused outbox rows; the run skips them, and parks them after repeated refusals',
        {
          refused: Object.fromEntries(refused),
          parkAfterRefusals: parkAfter,
          parkedNow: parked,
        },
      );
    }
    return {
      claimed: rows.length,
      published: accepted.length,
      failed: outage !== undefined ? rows.length : refused.size,
      parked,
      refused: [...refused.keys()],
      outage: outage !== undefined,
    };
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
