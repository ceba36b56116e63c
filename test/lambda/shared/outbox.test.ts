import type { Client } from 'pg';
import { InvalidJobError } from '../../../lambda/shared/jobs';
import { enqueueInTransaction } from '../../../lambda/shared/outbox';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres';
import { connectAs, createNoteWithJob } from '../jobs-support';

describe('outbox writer and table grants', () => {
  let db: TestDatabase;
  /** The API's role: writes jobs. */
  let app: Client;
  /** The relay's role: stamps them. */
  let relay: Client;

  beforeAll(async () => {
    db = await createTestDatabase('jobs_outbox', { migrated: true });
    app = await connectAs(db, 'shipshape_api');
    relay = await connectAs(db, 'shipshape_outbox_relay');
  });
  afterAll(async () => {
    await app.end();
    await relay.end();
    await db.drop();
  });

  test('commits the job with the note, in the caller transaction', async () => {
    const { noteId, jobId } = await createNoteWithJob(app, 'user-a');
    const { rows } = await db.pool.query(
      'SELECT id::text AS id, job_type, payload, published_at, attempts FROM outbox WHERE id = $1',
      [jobId],
    );
    expect(rows).toEqual([
      {
        id: jobId,
        job_type: 'note.created',
        payload: { noteId, ownerId: 'user-a' },
        published_at: null,
        attempts: 0,
      },
    ]);
  });

  test("works on a wrapper whose query resolves to the rows (the API service's Sql)", async () => {
    const sql = {
      query: async (text: string, values?: readonly unknown[]) =>
        (await app.query(text, values as unknown[])).rows,
    };
    await app.query('BEGIN');
    try {
      const job = await enqueueInTransaction(sql, {
        type: 'note.created',
        payload: { noteId: '7b0f4a8e-2c7d-4a36-9b8e-0e6f3c1d2a4b', ownerId: 'user-b' },
      });
      expect(job.id).toMatch(/^[1-9]\d*$/);
      await app.query('COMMIT');
      const { rows } = await db.pool.query('SELECT job_type FROM outbox WHERE id = $1', [job.id]);
      expect(rows).toEqual([{ job_type: 'note.created' }]);
    } finally {
      await app.query('ROLLBACK').catch(() => undefined);
    }
  });

  test('fails an invalid job before writing anything', async () => {
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n;
    await expect(
      enqueueInTransaction(app, {
        type: 'note.created',
        payload: { noteId: 'not-a-uuid', ownerId: 'u' },
      }),
    ).rejects.toThrow(InvalidJobError);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n).toBe(before);
  });

  test('the relay may stamp a job published but never rewrite what it says; the API may do neither', async () => {
    await createNoteWithJob(app, 'user-a');
    await expect(app.query('UPDATE outbox SET published_at = now()')).rejects.toThrow(/permission denied/);
    await expect(
      relay.query('UPDATE outbox SET published_at = now(), attempts = attempts + 1'),
    ).resolves.toBeDefined();
    await expect(relay.query(`UPDATE outbox SET payload = '{}'::jsonb`)).rejects.toThrow(/permission denied/);
    await expect(relay.query(`UPDATE outbox SET job_type = 'x.y'`)).rejects.toThrow(/permission denied/);
  });

  test('restore_verifier may read the job tables but not change them', async () => {
    const verifier = await connectAs(db, 'app');
    try {
      await verifier.query('RESET ROLE');
      await verifier.query('SET ROLE restore_verifier');
      await expect(verifier.query('SELECT count(*) FROM outbox')).resolves.toBeDefined();
      await expect(verifier.query('SELECT count(*) FROM processed_jobs')).resolves.toBeDefined();
      await expect(verifier.query('DELETE FROM processed_jobs')).rejects.toThrow(/permission denied/);
    } finally {
      await verifier.end();
    }
  });
});
