import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { databaseSettingsFromEnv, iamDatabaseConnector } from '../runtime/database-settings';
import { JOBS_METRIC_NAMESPACE } from '../shared/job-metrics';
import { relayOutbox, type RelayResult } from './relay';

const env = z
  .object({
    QUEUE_URL: z.url(),
    RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(10).default(10),
    HISTORY_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
    PARK_AFTER_REFUSALS: z.coerce.number().int().min(1).max(1000).default(5),
  })
  .parse(process.env);

const logger = new Logger();
const metrics = new Metrics({ namespace: JOBS_METRIC_NAMESPACE });
const sqs = new SQSClient({
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  maxAttempts: 3,
});
const connect = iamDatabaseConnector(databaseSettingsFromEnv());

/**
 * Invoked every minute by EventBridge Scheduler (the event carries nothing the relay needs).
 * One connection per run: the relay runs once a minute, and the proxy pools the server side.
 */
export async function handler(_event: unknown, context: Context): Promise<RelayResult> {
  logger.addContext(context);
  const db = await connect();
  try {
    return await relayOutbox({
      db,
      sqs,
      queueUrl: env.QUEUE_URL,
      logger,
      batchSize: env.RELAY_BATCH_SIZE,
      retentionDays: env.HISTORY_RETENTION_DAYS,
      parkAfterRefusals: env.PARK_AFTER_REFUSALS,
      remainingMs: () => context.getRemainingTimeInMillis(),
      metrics: { addMetric: (name, unit, value) => metrics.addMetric(name, MetricUnit[unit], value) },
    });
  } finally {
    metrics.publishStoredMetrics();
    await db.end().catch(() => undefined);
  }
}
