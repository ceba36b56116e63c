import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Client } from 'pg';
import { z } from 'zod';
import { databaseSettingsFromEnv, iamDatabaseConnector } from '../runtime/database-settings';
import { JOBS_METRIC_NAMESPACE } from '../shared/job-metrics';
import { LogNotifier } from './notifier';
import { processBatch } from './worker';

const env = z
  .object({
    QUEUE_URL: z.url(),
    MAX_RECEIVE_COUNT: z.coerce.number().int().min(1),
    BACKOFF_BASE_SECONDS: z.coerce.number().int().min(0),
    BACKOFF_MAX_SECONDS: z.coerce.number().int().min(0),
  })
  .parse(process.env);

const logger = new Logger();
const metrics = new Metrics({ namespace: JOBS_METRIC_NAMESPACE });
// Outbound calls time out well inside the function timeout; the SDK retries throttling itself.
const sqs = new SQSClient({
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  maxAttempts: 3,
});
const connect = iamDatabaseConnector(databaseSettingsFromEnv());
const notifier = new LogNotifier(logger);

// One connection per container, reopened after an error (the proxy pools the server side).
let connection: Promise<Client> | undefined;
function database(): Promise<Client> {
  connection ??= connect().then((client) => {
    client.on('error', (error) => {
      logger.warn('database connection lost', { error: error.message });
      connection = undefined;
    });
    return client;
  });
  connection.catch(() => (connection = undefined));
  return connection;
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  try {
    return await processBatch(event, {
      // A database outage fails the whole invocation (a worker error that alarms); every message
      // comes back after the queue's visibility timeout.
      db: await database(),
      sqs,
      queueUrl: env.QUEUE_URL,
      notifier,
      backoff: { baseSeconds: env.BACKOFF_BASE_SECONDS, maxSeconds: env.BACKOFF_MAX_SECONDS },
      maxReceiveCount: env.MAX_RECEIVE_COUNT,
      logger,
      metrics: { addMetric: (name, unit, value) => metrics.addMetric(name, MetricUnit[unit], value) },
    });
  } finally {
    metrics.publishStoredMetrics();
  }
}
