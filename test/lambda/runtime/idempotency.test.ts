import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { ApiError } from '../../../lambda/runtime/errors';
import { IdempotencyStore, requestHash } from '../../../lambda/runtime/idempotency';
import { Database } from '../../../lambda/runtime/pool';
import type { TestDatabase } from '../../helpers/postgres';
import { appRolePool, RUN, startApi, stopApi } from '../api/harness';

// The generic store on its own, against the real PostgreSQL (as the `app` role, row-level
// security on): what an adopter's handler gets from `@shipshape/cdk/runtime`.

let db: TestDatabase;
let pool: Pool;
let database: Database;

beforeAll(async () => {
  ({ db } = await startApi('idem_store'));
  pool = appRolePool();
  database = new Database(pool, 2000);
});
afterAll(stopApi);

const as = (callerId: string) => ({ callerId, requestId: `req-${randomUUID()}` });

test('runs the work once, replays its response, refuses the key for another request', async () => {
  const store = new IdempotencyStore(database);
  const caller = `store-${RUN}`;
  let runs = 0;
  const work = async () => ({ statusCode: 201, body: JSON.stringify({ run: ++runs }) });
  const request = { scope: 'POST /things', key: randomUUID(), request: { name: 'x', size: 1 } };
  const first = await store.run(as(caller), request, work);
  // Same request with its keys in another order: the same request.
  const again = await store.run(as(caller), { ...request, request: { size: 1, name: 'x' } }, work);
  expect(first).toEqual({ statusCode: 201, body: '{"run":1}', replayed: false });
  expect(again).toEqual({ statusCode: 201, body: '{"run":1}', replayed: true });
  await expect(store.run(as(caller), { ...request, request: { name: 'y' } }, work)).rejects.toMatchObject({
    status: 422,
    code: 'idempotency_key_reused',
  });
  expect(runs).toBe(1);
});

test('a failing write rolls its claim back: the key stays free for the retry', async () => {
  const store = new IdempotencyStore(database);
  const caller = `store-fail-${RUN}`;
  const request = { scope: 'POST /things', key: randomUUID(), request: {} };
  await expect(
    store.run(as(caller), request, async () => {
      throw new ApiError(409, 'conflict', 'not now');
    }),
  ).rejects.toMatchObject({ status: 409 });
  const keys = await db.pool.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE caller_id = $1', [
    caller,
  ]);
  expect(keys.rows[0].n).toBe(0);
  const retried = await store.run(as(caller), request, async () => ({ statusCode: 200, body: '{}' }));
  expect(retried.replayed).toBe(false);
});

test('row-level security: a caller never sees, replays or collides with another caller’s keys', async () => {
  const store = new IdempotencyStore(database);
  const key = randomUUID();
  const request = { scope: 'POST /things', key, request: {} };
  await store.run(as(`rls-a-${RUN}`), request, async () => ({ statusCode: 201, body: '"a"' }));
  const b = await store.run(as(`rls-b-${RUN}`), request, async () => ({ statusCode: 201, body: '"b"' }));
  expect(b).toEqual({ statusCode: 201, body: '"b"', replayed: false });
  const visible = await database.transaction(as(`rls-b-${RUN}`), (sql) =>
    sql.query('SELECT caller_id FROM idempotency_keys WHERE idempotency_key = $1', [key]),
  );
  expect(visible).toEqual([{ caller_id: `rls-b-${RUN}` }]);
});

test('expired keys of every caller are pruned through the owner’s function; app cannot delete keys itself', async () => {
  const callers = [`prune-a-${RUN}`, `prune-b-${RUN}`];
  for (const caller of callers) {
    await db.pool.query(
      `INSERT INTO idempotency_keys (caller_id, scope, idempotency_key, request_hash, status_code, created_at, expires_at)
       VALUES ($1, 'POST /x', $2, $3, 201, now() - interval '2 days', now() - interval '1 day'),
              ($1, 'POST /x', $4, $3, 201, now(), now() + interval '1 day')`,
      [caller, `old-${randomUUID()}`, requestHash({}), `new-${randomUUID()}`],
    );
  }
  await expect(
    database.transaction(as(callers[0]), (sql) => sql.query('DELETE FROM idempotency_keys')),
  ).rejects.toMatchObject({ code: '42501' });
  const errors: unknown[] = [];
  const store = new IdempotencyStore(database, { onPruneError: (e) => errors.push(e) });
  // The first write of a container prunes (then at most every 10 minutes).
  await store.run(as(callers[0]), { scope: 'POST /x', key: randomUUID(), request: {} }, async () => ({
    statusCode: 201,
  }));
  expect(errors).toEqual([]);
  const left = await db.pool.query(
    `SELECT caller_id, expires_at > now() AS live FROM idempotency_keys WHERE caller_id = ANY($1) ORDER BY 1, 2`,
    [callers],
  );
  expect(left.rows).toEqual([
    { caller_id: callers[0], live: true },
    { caller_id: callers[0], live: true },
    { caller_id: callers[1], live: true },
  ]);
});
