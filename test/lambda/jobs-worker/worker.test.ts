import { randomUUID } from 'node:crypto';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { Client } from 'pg';
import { type Notification, type Notifier, PermanentJobError } from '../../../lambda/jobs-worker/notifier';
import { processBatch, type WorkerDeps } from '../../../lambda/jobs-worker/worker';
import { JobMetric } from '../../../lambda/shared/job-metrics';
import { loadEnvironmentConfig } from '../../../lib/config';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres';
import { jobsStack } from '../../jobs/jobs-stack';
import { Template } from 'aws-cdk-lib/assertions';
import { connectAs, MetricsRecorder, QUEUE_URL, silentLogger, sqsRecord } from '../jobs-support';

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'eu-west-1' });
const BACKOFF = { baseSeconds: 10, maxSeconds: 300 };

let nextJobId = 1000;
function jobBody(overrides: Record<string, unknown> = {}): { body: string; id: string; noteId: string } {
  const id = String(nextJobId++);
  const noteId = randomUUID();
  const body = JSON.stringify({
    id,
    type: 'note.created',
    payload: { noteId, ownerId: 'user-a' },
    createdAt: new Date().toISOString(),
    ...overrides,
  });
  return { body, id, noteId };
}

/** A notifier that records deliveries and fails for the note ids it is told to. */
class FakeNotifier implements Notifier {
  public readonly sent: Notification[] = [];
  public readonly failFor = new Set<string>();
  public permanent = false;
  async send(notification: Notification): Promise<void> {
    if (this.failFor.has(notification.resource.noteId)) {
      throw this.permanent ? new PermanentJobError('recipient unknown') : new Error('mail relay timed out');
    }
    this.sent.push(notification);
  }
}

describe('jobs worker against PostgreSQL', () => {
  let db: TestDatabase;
  let client: Client;
  let notifier: FakeNotifier;
  let metrics: MetricsRecorder;
  let deps: WorkerDeps;

  const processedIds = async () =>
    (await db.pool.query<{ job_id: string }>('SELECT job_id FROM processed_jobs ORDER BY job_id')).rows.map(
      (r) => r.job_id,
    );
  const visibilityChanges = () =>
    sqsMock
      .commandCalls(ChangeMessageVisibilityCommand)
      .map((c) => [c.args[0].input.ReceiptHandle, c.args[0].input.VisibilityTimeout]);

  beforeAll(async () => {
    db = await createTestDatabase('jobs_worker', { migrated: true });
    client = await connectAs(db, 'shipshape_jobs_worker');
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });
  beforeEach(async () => {
    sqsMock.reset();
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    notifier = new FakeNotifier();
    metrics = new MetricsRecorder();
    deps = {
      db: client,
      sqs,
      queueUrl: QUEUE_URL,
      notifier,
      backoff: BACKOFF,
      maxReceiveCount: 5,
      logger: silentLogger,
      metrics,
    };
    await db.pool.query('TRUNCATE processed_jobs');
  });

  test('processes a batch, records each job once and reports no failures', async () => {
    const a = jobBody();
    const b = jobBody();
    const response = await processBatch({ Records: [sqsRecord(a.body, 1), sqsRecord(b.body, 1)] }, deps);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(notifier.sent.map((n) => n.jobId)).toEqual([a.id, b.id]);
    expect(notifier.sent[0]).toEqual({
      jobId: a.id,
      recipientId: 'user-a',
      topic: 'note.created',
      resource: { noteId: a.noteId },
    });
    expect(await processedIds()).toEqual([a.id, b.id].sort());
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
  });

  test('reports only the failed message, backs it off by its receive count, and keeps its effect undone', async () => {
    const ok1 = jobBody();
    const bad = jobBody();
    const ok2 = jobBody();
    notifier.failFor.add(bad.noteId);
    const failing = sqsRecord(bad.body, 3);

    const response = await processBatch(
      { Records: [sqsRecord(ok1.body, 1), failing, sqsRecord(ok2.body, 1)] },
      deps,
    );

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: failing.messageId }] });
    expect(notifier.sent.map((n) => n.jobId)).toEqual([ok1.id, ok2.id]);
    // The failed job's ledger entry rolled back with it, so the retry runs it.
    expect(await processedIds()).toEqual([ok1.id, ok2.id].sort());
    // Third delivery: 10 s * 2^2.
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: failing.receiptHandle,
      VisibilityTimeout: 40,
    });
    expect(metrics.total(JobMetric.JOBS_RETRIED)).toBe(1);

    notifier.failFor.clear();
    const retry = await processBatch({ Records: [sqsRecord(bad.body, 4)] }, deps);
    expect(retry.batchItemFailures).toEqual([]);
    expect(notifier.sent.map((n) => n.jobId)).toEqual([ok1.id, ok2.id, bad.id]);
  });

  test('a duplicate delivery has one effect', async () => {
    const job = jobBody();
    const first = await processBatch({ Records: [sqsRecord(job.body, 1)] }, deps);
    const again = await processBatch({ Records: [sqsRecord(job.body, 1, randomUUID())] }, deps);
    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    expect(notifier.sent).toHaveLength(1);
    expect(await processedIds()).toEqual([job.id]);
    expect(metrics.total(JobMetric.JOBS_DUPLICATE)).toBe(1);
  });

  test('two workers receiving the same job at once act on it once', async () => {
    const job = jobBody();
    const other = await connectAs(db, 'shipshape_jobs_worker');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const firstInside = new Promise<void>((resolve) => (inside = resolve));
    const slow: Notifier = {
      send: async (n) => {
        inside();
        await gate;
        notifier.sent.push(n);
      },
    };
    try {
      const first = processBatch({ Records: [sqsRecord(job.body, 1)] }, { ...deps, notifier: slow });
      await firstInside; // the first worker holds the job's ledger row, uncommitted
      const second = processBatch(
        { Records: [sqsRecord(job.body, 1, randomUUID())] },
        { ...deps, db: other, notifier: slow },
      );
      release();
      expect((await first).batchItemFailures).toEqual([]);
      expect((await second).batchItemFailures).toEqual([]);
    } finally {
      release();
      await other.end();
    }
    expect(notifier.sent).toHaveLength(1);
    expect(await processedIds()).toEqual([job.id]);
  });

  test('a job that keeps failing backs off exponentially, capped, then is released to the DLQ', async () => {
    const job = jobBody();
    notifier.failFor.add(job.noteId);
    const delays: Array<number | undefined> = [];
    for (let receive = 1; receive <= 7; receive++) {
      sqsMock.resetHistory();
      const record = sqsRecord(job.body, receive);
      const response = await processBatch({ Records: [record] }, { ...deps, maxReceiveCount: 8 });
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      delays.push(sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0].args[0].input.VisibilityTimeout);
    }
    expect(delays).toEqual([10, 20, 40, 80, 160, 300, 300]);
    const last = sqsRecord(job.body, 8);
    await processBatch({ Records: [last] }, { ...deps, maxReceiveCount: 8 });
    expect(visibilityChanges().at(-1)).toEqual([last.receiptHandle, 0]);
  });

  test('a failed visibility change does not turn a reported failure into an invocation error', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(new Error('throttled'));
    const job = jobBody();
    notifier.failFor.add(job.noteId);
    const record = sqsRecord(job.body, 1);
    await expect(processBatch({ Records: [record] }, deps)).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: record.messageId }],
    });
  });

  test.each([
    ['a body that is not JSON', 'not json'],
    ['an unknown job type', jobBody({ type: 'invoice.paid' }).body],
    [
      'a payload that does not match its type',
      jobBody({ payload: { noteId: 'not-a-uuid', ownerId: 'u' } }).body,
    ],
    ['a message without an outbox id', jobBody({ id: undefined }).body],
  ])('fails %s as poison, released at once, with no effect', async (_name, body) => {
    const record = sqsRecord(body, 1);
    const response = await processBatch({ Records: [record] }, deps);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(visibilityChanges()).toEqual([[record.receiptHandle, 0]]);
    expect(notifier.sent).toEqual([]);
    expect(await processedIds()).toEqual([]);
    expect(metrics.total(JobMetric.JOBS_POISON)).toBe(1);
  });

  test('a permanent delivery failure is poison too (no backoff)', async () => {
    const job = jobBody();
    notifier.failFor.add(job.noteId);
    notifier.permanent = true;
    const record = sqsRecord(job.body, 2);
    await processBatch({ Records: [record] }, deps);
    expect(visibilityChanges()).toEqual([[record.receiptHandle, 0]]);
    expect(metrics.total(JobMetric.JOBS_POISON)).toBe(1);
  });

  describe('a poison message under the redrive policy of the deployed queue', () => {
    test.each(['staging', 'production'] as const)(
      'in %s reaches the DLQ after exactly maxReceiveCount failed deliveries',
      async (env) => {
        const config = loadEnvironmentConfig(env);
        const { stack } = jobsStack(config);
        const queue = Template.fromStack(stack).toJSON().Resources.Jobs41CEEC0B as {
          Properties: { RedrivePolicy: { maxReceiveCount: number } };
        };
        const maxReceiveCount = queue.Properties.RedrivePolicy.maxReceiveCount;
        expect(maxReceiveCount).toBe(config.jobs.maxReceiveCount);

        // SQS's redrive, modelled: each receive counts; a receive past maxReceiveCount moves the
        // message to the DLQ instead of delivering it.
        const message = {
          body: jobBody({ type: 'note.deleted' }).body,
          receiveCount: 0,
          messageId: randomUUID(),
        };
        const deadLetters: string[] = [];
        let deliveries = 0;
        while (deadLetters.length === 0) {
          message.receiveCount += 1;
          if (message.receiveCount > maxReceiveCount) {
            deadLetters.push(message.messageId);
            break;
          }
          deliveries += 1;
          const record: SQSRecord = sqsRecord(message.body, message.receiveCount, message.messageId);
          const response = await processBatch({ Records: [record] }, { ...deps, maxReceiveCount });
          expect(response.batchItemFailures).toEqual([{ itemIdentifier: message.messageId }]);
        }

        expect(deliveries).toBe(maxReceiveCount);
        expect(deadLetters).toEqual([message.messageId]);
        expect(metrics.total(JobMetric.JOBS_POISON)).toBe(maxReceiveCount);
        expect(notifier.sent).toEqual([]);
      },
    );
  });
});
