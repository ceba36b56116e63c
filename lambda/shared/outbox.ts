import { type Job, parseJob } from './jobs';

/**
 * What the outbox writer needs: a `pg` client or pool client (whose `query` resolves to a result
 * with `rows`), or a thin wrapper whose `query` resolves to the rows themselves (the API's `Sql`).
 * Either way it must be the connection that holds the caller's open transaction.
 */
export interface OutboxQueryable {
  query(text: string, values?: readonly unknown[]): Promise<unknown>;
}

/** The row the outbox writer created. */
export interface EnqueuedJob {
  /** The outbox id; the worker sees it as the job id. */
  readonly id: string;
}

/**
 * Writes a job to the transactional outbox **on the caller's open transaction**: the job is
 * committed if and only if the caller's own change is. The outbox relay sends it to the queue
 * within about a minute; the worker acts on it at most once per id.
 *
 * Call it between `BEGIN` and `COMMIT`, on the same client as the change it announces:
 *
 * ```ts
 * await enqueueInTransaction(client, { type: 'note.created', payload: { noteId, ownerId } });
 * ```
 *
 * @throws InvalidJobError when the job does not match the catalogue in `jobs.ts` (nothing is written).
 */
export async function enqueueInTransaction(client: OutboxQueryable, job: Job): Promise<EnqueuedJob> {
  const valid = parseJob(job);
  const result = await client.query(
    'INSERT INTO outbox (job_type, payload) VALUES ($1, $2::jsonb) RETURNING id::text AS id',
    [valid.type, JSON.stringify(valid.payload)],
  );
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{
    id: string;
  }>;
  return { id: rows[0].id };
}
