import {
  type SendMessageBatchCommandInput,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { Client } from 'pg';
import { processBatch } from '../../../lambda/jobs-worker/worker';
import type { Notification, Notifier } from '../../../lambda/jobs-worker/notifier';
import { relayOutbox, type RelayDeps } from '../../../lambda/outbox-relay/relay';
import { JobMetric } from '../../../lambda/shared/job-metrics';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres';
import {
  backendPid,
  connectAs,
  createNoteWithJob,
  MetricsRecorder,
  QUEUE_URL,
  recordsFromEntries,
  silentLogger,
} from '../jobs-support';

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'eu-west-1' });

/** Every entry SQS accepted, in order. */
let accepted: SendMessageBatchRequestEntry[];

function acceptEverything(): void {
  sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
    accepted.push(...(input.Entries ?? []));
    return {
      Successful: (input.Entries ?? []).map((e) => ({
        Id: e.Id,
        MessageId: `m-${e.Id}`,
        MD5OfMessageBody: '',
      })),
      Failed: [],
    };
  });
}

describe('outbox relay against PostgreSQL', () => {
  let db: TestDatabase;
  let service: Client;
  let relayDb: Client;
  let metrics: MetricsRecorder;

  const relay = (overrides: Partial<RelayDeps> = {}) =>
    relayOutbox({ db: relayDb, sqs, queueUrl: QUEUE_URL, logger: silentLogger, metrics, ...overrides });

  const unpublished = async () =>
    (
      await db.pool.query<{ id: string; attempts: number; last_error: string | null }>(
        'SELECT id::text AS id, attempts, last_error FROM outbox WHERE published_at IS NULL ORDER BY id',
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase('jobs_relay', { migrated: true });
  });
  afterAll(() => db.drop());

  beforeEach(async () => {
    sqsMock.reset();
    accepted = [];
    metrics = new MetricsRecorder();
    await db.pool.query('TRUNCATE outbox, processed_jobs, notes, accounts');
    service = await connectAs(db, 'shipshape_api');
    relayDb = await connectAs(db, 'shipshape_outbox_relay');
  });
  afterEach(async () => {
    await service.end().catch(() => undefined);
    await relayDb.end().catch(() => undefined);
  });

  test('sends each committed job once, with the outbox id in the body and as an attribute, and stamps it published', async () => {
    acceptEverything();
    const { noteId, jobId } = await createNoteWithJob(service, 'user-a');

    const result = await relay();

    expect(result).toEqual({
      published: 1,
      failed: 0,
      parkedNow: 0,
      backlog: 0,
      parked: 0,
      oldestAgeSeconds: 0,
    });
    expect(accepted).toHaveLength(1);
    expect(JSON.parse(accepted[0].MessageBody!)).toMatchObject({
      id: jobId,
      type: 'note.created',
      payload: { noteId, ownerId: 'user-a' },
    });
    expect(accepted[0].MessageAttributes).toEqual({
      outboxId: { DataType: 'Number', StringValue: jobId },
      jobType: { DataType: 'String', StringValue: 'note.created' },
    });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE_URL });
    expect(await unpublished()).toEqual([]);

    await relay();
    expect(accepted).toHaveLength(1); // nothing left to send
  });

  test('a rolled-back request leaves no job behind', async () => {
    acceptEverything();
    await expect(
      createNoteWithJob(service, 'user-a', async () => {
        throw new Error('request failed after the insert');
      }),
    ).rejects.toThrow('request failed');

    expect((await db.pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n).toBe(0);
    expect((await relay()).published).toBe(0);
    expect(accepted).toEqual([]);
  });

  test('a crash between commit and publish loses nothing: the next run sends the job', async () => {
    const { jobId } = await createNoteWithJob(service, 'user-a');
    // The relay dies while SQS is being called: its connection goes, the call never completes.
    const pid = await backendPid(relayDb);
    sqsMock.on(SendMessageBatchCommand).callsFake(async () => {
      await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
      throw new Error('relay process killed');
    });
    await expect(relay()).rejects.toThrow();
    expect((await unpublished()).map((r) => r.id)).toEqual([jobId]);

    relayDb = await connectAs(db, 'shipshape_outbox_relay');
    acceptEverything();
    expect((await relay()).published).toBe(1);
    expect(accepted.map((e) => JSON.parse(e.MessageBody!).id)).toEqual([jobId]);
    expect(await unpublished()).toEqual([]);
  });

  test('a crash after SQS accepted but before the commit re-sends, and the consumer acts once', async () => {
    const { jobId, noteId } = await createNoteWithJob(service, 'user-a');
    const pid = await backendPid(relayDb);
    sqsMock.on(SendMessageBatchCommand).callsFakeOnce(async (input: SendMessageBatchCommandInput) => {
      accepted.push(...(input.Entries ?? []));
      // SQS has the message; the relay dies before it can stamp the row.
      await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
      return {
        Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: 'm1', MD5OfMessageBody: '' })),
      };
    });
    await expect(relay()).rejects.toThrow();
    expect((await unpublished()).map((r) => r.id)).toEqual([jobId]);

    relayDb = await connectAs(db, 'shipshape_outbox_relay');
    acceptEverything();
    await relay();
    expect(accepted.map((e) => JSON.parse(e.MessageBody!).id)).toEqual([jobId, jobId]); // sent twice
    expect(await unpublished()).toEqual([]);

    // Both copies reach the worker; the notification goes out once.
    const sent: Notification[] = [];
    const notifier: Notifier = { send: async (n) => void sent.push(n) };
    const workerDb = await connectAs(db, 'shipshape_jobs_worker');
    try {
      for (const record of recordsFromEntries(accepted)) {
        const response = await processBatch(
          { Records: [record] },
          {
            db: workerDb,
            sqs,
            queueUrl: QUEUE_URL,
            notifier,
            backoff: { baseSeconds: 10, maxSeconds: 300 },
            maxReceiveCount: 5,
            logger: silentLogger,
            metrics,
          },
        );
        expect(response.batchItemFailures).toEqual([]);
      }
    } finally {
      await workerDb.end();
    }
    expect(sent).toEqual([{ jobId, recipientId: 'user-a', topic: 'note.created', resource: { noteId } }]);
    expect(metrics.total(JobMetric.JOBS_PROCESSED)).toBe(1);
    expect(metrics.total(JobMetric.JOBS_DUPLICATE)).toBe(1);
  });

  test('concurrent relays never send the same row twice (FOR UPDATE SKIP LOCKED)', async () => {
    for (let i = 0; i < 15; i++) await createNoteWithJob(service, `user-${i % 3}`);
    const otherDb = await connectAs(db, 'shipshape_outbox_relay');

    // The first relay's first batch hangs inside SendMessageBatch, holding its rows locked,
    // while the second relay runs from start to finish.
    let releaseFirst!: () => void;
    const firstMayFinish = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstClaimed!: () => void;
    const firstHasClaimed = new Promise<void>((resolve) => (firstClaimed = resolve));
    let calls = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      calls += 1;
      if (calls === 1) {
        firstClaimed();
        await firstMayFinish;
      }
      accepted.push(...(input.Entries ?? []));
      return {
        Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
      };
    });

    try {
      const first = relay();
      await firstHasClaimed;
      const second = await relay({ db: otherDb });
      expect(second.published).toBe(5);
      releaseFirst();
      expect((await first).published).toBe(10);
    } finally {
      releaseFirst();
      await otherDb.end();
    }

    const ids = accepted.map((e) => JSON.parse(e.MessageBody!).id as string);
    expect(ids).toHaveLength(15);
    expect(new Set(ids).size).toBe(15);
    expect(await unpublished()).toEqual([]);
  });

  test('rows SQS refuses stay unpublished with the error, are counted in the backlog, and go out on the next run', async () => {
    for (let i = 0; i < 3; i++) await createNoteWithJob(service, 'user-a');
    sqsMock.on(SendMessageBatchCommand).callsFakeOnce((input: SendMessageBatchCommandInput) => {
      const [refused, ...rest] = input.Entries ?? [];
      accepted.push(...rest);
      return {
        Successful: rest.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
        Failed: [
          { Id: refused.Id, Code: 'KMS.ThrottlingException', SenderFault: false, Message: 'slow down' },
        ],
      };
    });

    const first = await relay();
    expect(first).toMatchObject({ published: 2, failed: 1, backlog: 1 });
    expect(metrics.last(JobMetric.OUTBOX_BACKLOG)).toBe(1);
    expect(metrics.last(JobMetric.OUTBOX_SEND_FAILED)).toBe(1);
    const [left] = await unpublished();
    expect(left).toMatchObject({ attempts: 1, last_error: 'KMS.ThrottlingException: slow down' });

    acceptEverything();
    expect(await relay()).toMatchObject({ published: 1, failed: 0, backlog: 0 });
    expect(new Set(accepted.map((e) => JSON.parse(e.MessageBody!).id)).size).toBe(3);
  });

  test('an SQS outage leaves every row unpublished and the run reports it instead of failing', async () => {
    await createNoteWithJob(service, 'user-a');
    await createNoteWithJob(service, 'user-b');
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('connect ETIMEDOUT'));

    const result = await relay();

    expect(result).toMatchObject({ published: 0, failed: 2, backlog: 2 });
    expect((await unpublished()).map((r) => [r.attempts, r.last_error])).toEqual([
      [1, 'Error: connect ETIMEDOUT'],
      [1, 'Error: connect ETIMEDOUT'],
    ]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1); // no spinning on the same rows
  });

  /** SQS refuses every entry of `refusedJobId` (as it would a message it can never take) and accepts the rest. */
  function refuseOne(refusedJobId: string): void {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      const entries = input.Entries ?? [];
      const isRefused = (e: SendMessageBatchRequestEntry) => JSON.parse(e.MessageBody!).id === refusedJobId;
      accepted.push(...entries.filter((e) => !isRefused(e)));
      return {
        Successful: entries
          .filter((e) => !isRefused(e))
          .map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
        Failed: entries
          .filter(isRefused)
          .map((e) => ({ Id: e.Id, Code: 'InvalidParameterValue', SenderFault: true, Message: 'refused' })),
      };
    });
  }

  test('one refusing row among many does not throttle the relay: the rest drain in the first run', async () => {
    const jobs: string[] = [];
    for (let i = 0; i < 30; i++) jobs.push((await createNoteWithJob(service, `user-${i % 3}`)).jobId);
    refuseOne(jobs[0]); // the oldest row: in the first batch, as in the issue

    const first = await relay();

    // Before parking, a run stopped at the first refusal: 9 of 30 rows drained per run.
    expect(first).toMatchObject({ published: 29, failed: 1, parkedNow: 0, backlog: 1, parked: 0 });
    expect(new Set(accepted.map((e) => JSON.parse(e.MessageBody!).id)).size).toBe(29);
    // The refused row was tried once in this run, not once per batch.
    const triedRefused = sqsMock
      .commandCalls(SendMessageBatchCommand)
      .flatMap((c) => c.args[0].input.Entries ?? [])
      .filter((e) => JSON.parse(e.MessageBody!).id === jobs[0]);
    expect(triedRefused).toHaveLength(1);
    expect(await unpublished()).toEqual([
      { id: jobs[0], attempts: 1, last_error: 'InvalidParameterValue: refused' },
    ]);
  });

  test('parks a row after parkAfterRefusals refusals, stops sending it, and reports it apart from the backlog', async () => {
    const { jobId: refusedId } = await createNoteWithJob(service, 'user-a');
    refuseOne(refusedId);
    for (let run = 1; run <= 2; run++) {
      expect(await relay({ parkAfterRefusals: 3 })).toMatchObject({
        failed: 1,
        parkedNow: 0,
        backlog: 1,
        parked: 0,
      });
    }
    expect(await relay({ parkAfterRefusals: 3 })).toMatchObject({
      failed: 1,
      parkedNow: 1,
      backlog: 0,
      parked: 1,
    });
    expect(metrics.last(JobMetric.OUTBOX_PARKED)).toBe(1);
    expect(metrics.last(JobMetric.OUTBOX_BACKLOG)).toBe(0);
    const row = await db.pool.query(
      'SELECT refusals, parked_at IS NOT NULL AS parked FROM outbox WHERE id = $1',
      [refusedId],
    );
    expect(row.rows[0]).toEqual({ refusals: 3, parked: true });

    // Parked rows are no longer claimed: new jobs go out and the parked one is not sent again.
    const { jobId: next } = await createNoteWithJob(service, 'user-b');
    const callsBefore = sqsMock.commandCalls(SendMessageBatchCommand).length;
    expect(await relay({ parkAfterRefusals: 3 })).toMatchObject({ published: 1, failed: 0, parked: 1 });
    const lastCall = sqsMock.commandCalls(SendMessageBatchCommand).slice(callsBefore);
    expect(
      lastCall.flatMap((c) => c.args[0].input.Entries ?? []).map((e) => JSON.parse(e.MessageBody!).id),
    ).toEqual([next]);

    // Released as the runbook says (runbooks/outbox-parked.md), it goes out on the next run.
    await db.pool.query(
      'UPDATE outbox SET parked_at = NULL, refusals = 0 WHERE id = $1 AND published_at IS NULL',
      [refusedId],
    );
    acceptEverything();
    expect(await relay({ parkAfterRefusals: 3 })).toMatchObject({ published: 1, parked: 0, backlog: 0 });
    expect(await unpublished()).toEqual([]);
  });

  test('an outage parks nothing however often it repeats', async () => {
    await createNoteWithJob(service, 'user-a');
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('connect ETIMEDOUT'));
    for (let run = 0; run < 3; run++) await relay({ parkAfterRefusals: 1 });
    const row = await db.pool.query('SELECT attempts, refusals, parked_at FROM outbox');
    expect(row.rows).toEqual([{ attempts: 3, refusals: 0, parked_at: null }]);
  });

  test('drains a backlog larger than one SQS batch in one run, ten messages per call', async () => {
    acceptEverything();
    const jobs: string[] = [];
    for (let i = 0; i < 23; i++) jobs.push((await createNoteWithJob(service, 'user-a')).jobId);
    const result = await relay();
    // Oldest first, in numeric id order (not the text order, where "10" sorts before "2").
    expect(accepted.map((e) => JSON.parse(e.MessageBody!).id)).toEqual(jobs);
    expect(result).toMatchObject({ published: 23, backlog: 0 });
    expect(sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.length)).toEqual(
      [10, 10, 3],
    );
  });

  test('stops claiming batches when the invocation is about to time out', async () => {
    acceptEverything();
    for (let i = 0; i < 12; i++) await createNoteWithJob(service, 'user-a');
    let remaining = 30_000;
    const result = await relay({ remainingMs: () => (remaining -= 15_000), reserveMs: 10_000 });
    expect(result).toMatchObject({ published: 10, backlog: 2 });
  });

  test('reports the age of the oldest unpublished job', async () => {
    await createNoteWithJob(service, 'user-a');
    await db.pool.query("UPDATE outbox SET created_at = now() - interval '5 minutes'");
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('down'));
    const result = await relay();
    expect(result.oldestAgeSeconds).toBeGreaterThanOrEqual(300);
    expect(metrics.last(JobMetric.OUTBOX_OLDEST_AGE)).toBe(result.oldestAgeSeconds);
  });

  test('prunes published rows and processed-job entries past the retention, and keeps the rest', async () => {
    acceptEverything();
    await createNoteWithJob(service, 'user-a');
    await createNoteWithJob(service, 'user-a');
    await relay();
    await db.pool.query(
      "UPDATE outbox SET published_at = now() - interval '31 days' WHERE id = (SELECT min(id) FROM outbox)",
    );
    await db.pool.query(
      "INSERT INTO processed_jobs (job_id, job_type, processed_at) VALUES ('1', 'note.created', now() - interval '31 days'), ('2', 'note.created', now())",
    );
    await relay({ retentionDays: 30 });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n).toBe(1);
    expect((await db.pool.query('SELECT job_id FROM processed_jobs')).rows).toEqual([{ job_id: '2' }]);
  });
});
