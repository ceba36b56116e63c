import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { Client } from 'pg';
import type { JobMetricName, MetricsSink } from '../../lambda/shared/job-metrics';
import { enqueueInTransaction } from '../../lambda/shared/outbox';
import type { TestDatabase } from '../helpers/postgres';

/** A logger that prints nothing (the handlers' log lines are not what these tests assert). */
export const silentLogger = new Logger({ serviceName: 'jobs-test', logLevel: 'SILENT' });

export const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/111111111111/jobs';
export const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:111111111111:jobs';

/** Collects metrics the way Powertools would publish them. */
export class MetricsRecorder implements MetricsSink {
  public readonly values: Array<{ name: JobMetricName; unit: string; value: number }> = [];
  addMetric(name: JobMetricName, unit: 'Count' | 'Seconds', value: number): void {
    this.values.push({ name, unit, value });
  }
  /** Sum of every value recorded under `name`. */
  total(name: JobMetricName): number {
    return this.values.filter((v) => v.name === name).reduce((sum, v) => sum + v.value, 0);
  }
  /** The last value recorded under `name`. */
  last(name: JobMetricName): number | undefined {
    return this.values.filter((v) => v.name === name).at(-1)?.value;
  }
}

/** The database roles of the functions (migrations/0007_function_roles.sql) and the legacy shared one. */
export type FunctionRole = 'shipshape_api' | 'shipshape_jobs_worker' | 'shipshape_outbox_relay' | 'app';

/** A client connected to the test database acting as `role` (its grants, its RLS). */
export async function connectAs(db: TestDatabase, role: FunctionRole): Promise<Client> {
  const client = new Client({ connectionString: db.url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  client.on('error', () => undefined); // terminated on purpose by the crash tests
  await client.query(`SET ROLE ${client.escapeIdentifier(role)}`);
  return client;
}

/** The server process id of a client, to terminate it from outside (a crash). */
export async function backendPid(client: Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0].pid;
}

/**
 * What the service does on POST /notes: in one transaction, as the API's role with the caller's id set,
 * create the account if needed, insert the note and enqueue `note.created`. `beforeCommit` lets
 * a test fail the transaction after the job was written.
 */
export async function createNoteWithJob(
  client: Client,
  ownerId: string,
  beforeCommit?: () => Promise<void>,
): Promise<{ noteId: string; jobId: string }> {
  await client.query('BEGIN');
  try {
    await client.query("SELECT set_config('app.caller_id', $1, true)", [ownerId]);
    await client.query('INSERT INTO accounts (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [ownerId]);
    const { rows } = await client.query<{ id: string }>(
      'INSERT INTO notes (owner_id, title) VALUES ($1, $2) RETURNING id',
      [ownerId, 'groceries'],
    );
    const noteId = rows[0].id;
    const job = await enqueueInTransaction(client, { type: 'note.created', payload: { noteId, ownerId } });
    await beforeCommit?.();
    await client.query('COMMIT');
    return { noteId, jobId: job.id };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** An SQS record as Lambda delivers it. */
export function sqsRecord(body: string, receiveCount: number, messageId: string = randomUUID()): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}-${receiveCount}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'AROAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'eu-west-1',
  };
}

/** The records a batch of sent entries becomes on its `receiveCount`-th delivery. */
export function recordsFromEntries(entries: SendMessageBatchRequestEntry[], receiveCount = 1): SQSRecord[] {
  return entries.map((e) => sqsRecord(e.MessageBody!, receiveCount));
}
