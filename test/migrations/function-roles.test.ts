/**
 * One database role per function (migrations/0007_function_roles.sql, the API's grants on the
 * application's tables in 0008_api_role_grants.sql), checked on a migrated
 * database as the real roles: each can do what its function's SQL does, and is REFUSED
 * (SQLSTATE 42501, insufficient_privilege) what it must not do. `app` keeps working for the
 * release in which the previous versions still sign in as it.
 */
import type { PoolClient } from 'pg';
import { asRole, createTestDatabase, type TestDatabase } from '../helpers/postgres';

type Role =
  | 'shipshape_api'
  | 'shipshape_jobs_worker'
  | 'shipshape_outbox_relay'
  | 'shipshape_heartbeat'
  | 'restore_verifier'
  | 'app';

const FUNCTION_ROLES = [
  'shipshape_api',
  'shipshape_heartbeat',
  'shipshape_jobs_worker',
  'shipshape_outbox_relay',
] as const;
const INSUFFICIENT_PRIVILEGE = '42501';
const ALICE = 'sub-alice';
const BOB = 'sub-bob';

let db: TestDatabase;
let aliceNote: string;
let outboxId: string;

/** {@link asRole} on this file's database. */
const as = <T>(
  role: Role,
  callerId: string | undefined,
  work: (client: PoolClient) => Promise<T>,
  commit = false,
): Promise<T> => asRole(db, role, callerId, work, commit);

/** The SQLSTATE `sql` fails with as `role` (undefined when it succeeds). */
async function sqlStateOf(role: Role, sql: string, params: unknown[] = [], callerId = ALICE) {
  return as(role, callerId, (c) => c.query(sql, params)).then(
    () => undefined,
    (error: { code?: string }) => error.code,
  );
}

/** What POST /notes does, as `role`: account, note and outbox job in one transaction. */
async function createNote(role: Role, ownerId: string): Promise<{ noteId: string; jobId: string }> {
  return as(
    role,
    ownerId,
    async (c) => {
      await c.query('INSERT INTO accounts (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [ownerId]);
      const note = await c.query<{ id: string }>(
        "INSERT INTO notes (owner_id, title, body) VALUES ($1, 'title', 'body') RETURNING id",
        [ownerId],
      );
      const job = await c.query<{ id: string }>(
        "INSERT INTO outbox (job_type, payload) VALUES ('note.created', $1::jsonb) RETURNING id::text AS id",
        [JSON.stringify({ noteId: note.rows[0].id, ownerId })],
      );
      return { noteId: note.rows[0].id, jobId: job.rows[0].id };
    },
    true,
  );
}

beforeAll(async () => {
  db = await createTestDatabase('function_roles', { migrated: true });
  ({ noteId: aliceNote, jobId: outboxId } = await createNote('shipshape_api', ALICE));
  await createNote('shipshape_api', BOB);
  await db.pool.query("INSERT INTO processed_jobs (job_id, job_type) VALUES ('1', 'note.created')");
});
afterAll(() => db.drop());

describe('the per-function roles', () => {
  test('log in through IAM only, without a password, superuser or RLS bypass', async () => {
    const { rows } = await db.pool.query(
      `SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
              r.rolpassword IS NULL AS no_password, pg_has_role(r.rolname, 'rds_iam', 'MEMBER') AS iam,
              has_database_privilege(r.rolname, current_database(), 'CONNECT') AS can_connect
         FROM pg_authid r WHERE r.rolname = ANY($1) ORDER BY r.rolname`,
      [FUNCTION_ROLES],
    );
    expect(rows).toEqual(
      FUNCTION_ROLES.map((rolname) => ({
        rolname,
        rolcanlogin: true,
        rolsuper: false,
        rolbypassrls: false,
        rolcreaterole: false,
        rolcreatedb: false,
        no_password: true,
        iam: true,
        can_connect: true,
      })),
    );
  });

  test('none is a member of app or of the owner (no inherited grants)', async () => {
    const { rows } = await db.pool.query(
      `SELECT r.rolname, g.rolname AS member_of FROM pg_auth_members m
         JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid
        WHERE r.rolname = ANY($1) ORDER BY 1, 2`,
      [FUNCTION_ROLES],
    );
    expect(rows.map((r) => r.member_of)).toEqual(FUNCTION_ROLES.map(() => 'rds_iam'));
  });
});

describe('shipshape_api', () => {
  test('creates, reads, updates and deletes its caller’s notes and enqueues jobs', async () => {
    const { jobId } = await createNote('shipshape_api', 'sub-carol');
    expect(jobId).toMatch(/^\d+$/);
    const seen = await as('shipshape_api', ALICE, async (c) => {
      const updated = await c.query("UPDATE notes SET title = 'new', version = version + 1 WHERE id = $1", [
        aliceNote,
      ]);
      const listed = await c.query('SELECT owner_id FROM notes');
      const deleted = await c.query('DELETE FROM notes WHERE id = $1 RETURNING id', [aliceNote]);
      return {
        updated: updated.rowCount,
        owners: listed.rows.map((r) => r.owner_id),
        deleted: deleted.rowCount,
      };
    });
    // Row-level security applies to the API's role exactly as to app: Alice sees only her note.
    expect(seen).toEqual({ updated: 1, owners: [ALICE], deleted: 1 });
    expect(
      await as('shipshape_api', BOB, (c) => c.query('SELECT * FROM notes WHERE id = $1', [aliceNote])),
    ).toMatchObject({
      rowCount: 0,
    });
    expect(
      await sqlStateOf('shipshape_api', "INSERT INTO notes (owner_id, title) VALUES ($1, 'x')", [ALICE], BOB),
    ).toBe('42501'); // WITH CHECK: new row violates row-level security policy
  });

  test('claims, completes and replays its caller’s idempotency keys, prunes only through the function', async () => {
    const key = 'key-0123456789';
    const hash = 'a'.repeat(64);
    const replay = await as(
      'shipshape_api',
      ALICE,
      async (c) => {
        await c.query(
          "INSERT INTO idempotency_keys (caller_id, scope, idempotency_key, request_hash, expires_at) VALUES ($1, 'POST /notes', $2, $3, now() + interval '1 day')",
          [ALICE, key, hash],
        );
        await c.query(
          "UPDATE idempotency_keys SET status_code = 201, response_body = '{}' WHERE idempotency_key = $1",
          [key],
        );
        const mine = await c.query('SELECT status_code FROM idempotency_keys WHERE idempotency_key = $1', [
          key,
        ]);
        const pruned = await c.query('SELECT public.prune_idempotency_keys(10) AS n');
        return { status: mine.rows[0]?.status_code, pruned: pruned.rows[0]?.n };
      },
      true,
    );
    expect(replay).toEqual({ status: 201, pruned: 0 });
    // Row-level security: Bob neither sees Alice's key nor can he claim one in her name.
    expect(
      await as('shipshape_api', BOB, (c) =>
        c.query('SELECT 1 FROM idempotency_keys WHERE idempotency_key = $1', [key]),
      ),
    ).toMatchObject({ rowCount: 0 });
    expect(
      await sqlStateOf(
        'shipshape_api',
        "INSERT INTO idempotency_keys (caller_id, scope, idempotency_key, request_hash, expires_at) VALUES ($1, 'POST /notes', 'key-bobs-forgery', $2, now() + interval '1 day')",
        [ALICE, hash],
        BOB,
      ),
    ).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await sqlStateOf('shipshape_api', 'DELETE FROM idempotency_keys')).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await sqlStateOf('shipshape_api', "UPDATE idempotency_keys SET caller_id = 'sub-bob'")).toBe(
      INSUFFICIENT_PRIVILEGE,
    );
  });

  test.each([
    ['read outbox payloads', 'SELECT payload FROM outbox'],
    ['read outbox rows', 'SELECT * FROM outbox'],
    ['mark outbox rows published', 'UPDATE outbox SET published_at = now()'],
    ['delete outbox rows', 'DELETE FROM outbox'],
    ['read processed_jobs', 'SELECT * FROM processed_jobs'],
    ['delete processed_jobs', 'DELETE FROM processed_jobs'],
    ['record processed jobs', "INSERT INTO processed_jobs (job_id, job_type) VALUES ('9', 'note.created')"],
    ['write heartbeats', "INSERT INTO heartbeat (source) VALUES ('api')"],
    ['delete accounts', 'DELETE FROM accounts'],
    ['read the migration history', 'SELECT * FROM shipshape_migrations'],
  ])('is refused: %s', async (_what, sql) => {
    expect(await sqlStateOf('shipshape_api', sql)).toBe(INSUFFICIENT_PRIVILEGE);
  });
});

describe('shipshape_jobs_worker', () => {
  test('records a processed job once (ON CONFLICT DO NOTHING RETURNING job_id)', async () => {
    const sql =
      "INSERT INTO processed_jobs (job_id, job_type) VALUES ($1, 'note.created') ON CONFLICT (job_id) DO NOTHING RETURNING job_id";
    const [first, again] = await as('shipshape_jobs_worker', undefined, async (c) => [
      (await c.query(sql, ['42'])).rows,
      (await c.query(sql, ['42'])).rows,
    ]);
    expect(first).toEqual([{ job_id: '42' }]);
    expect(again).toEqual([]);
  });

  test.each([
    ['write notes', "INSERT INTO notes (owner_id, title) VALUES ('sub-alice', 'x')"],
    ['change notes', "UPDATE notes SET title = 'x'"],
    ['read notes', 'SELECT * FROM notes'],
    ['create accounts', "INSERT INTO accounts (id) VALUES ('sub-alice')"],
    ['read outbox payloads', 'SELECT payload FROM outbox'],
    ['mark outbox rows published', 'UPDATE outbox SET published_at = now()'],
    ['delete processed_jobs', 'DELETE FROM processed_jobs'],
    ['rewrite processed_jobs', "UPDATE processed_jobs SET job_type = 'x'"],
    ['write heartbeats', "INSERT INTO heartbeat (source) VALUES ('worker')"],
  ])('is refused: %s', async (_what, sql) => {
    expect(await sqlStateOf('shipshape_jobs_worker', sql)).toBe(INSUFFICIENT_PRIVILEGE);
  });
});

describe('shipshape_outbox_relay', () => {
  test('claims, stamps, parks and prunes outbox rows, and prunes processed jobs', async () => {
    const unpublished = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
    );
    const result = await as('shipshape_outbox_relay', undefined, async (c) => {
      const claimed = await c.query(
        `SELECT id::text AS id, job_type, payload, created_at FROM outbox
          WHERE published_at IS NULL AND parked_at IS NULL ORDER BY outbox.id LIMIT 10 FOR UPDATE SKIP LOCKED`,
      );
      await c.query(
        `UPDATE outbox SET attempts = attempts + 1, refusals = refusals + 1, last_error = 'x',
                parked_at = CASE WHEN refusals + 1 >= 5 THEN now() END WHERE id = $1 RETURNING parked_at IS NOT NULL`,
        [outboxId],
      );
      await c.query('UPDATE outbox SET published_at = now() WHERE id = $1', [outboxId]);
      const pruned = await c.query(
        `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at < now() + interval '1 day' LIMIT 1000)`,
      );
      const prunedJobs = await c.query(
        `DELETE FROM processed_jobs WHERE job_id IN (
           SELECT job_id FROM processed_jobs WHERE processed_at < now() + interval '1 day' LIMIT 1000)`,
      );
      return { claimed: claimed.rowCount, pruned: pruned.rowCount, prunedJobs: prunedJobs.rowCount };
    });
    expect(result).toEqual({ claimed: unpublished.rows[0].n, pruned: 1, prunedJobs: 1 });
    expect(result.claimed).toBeGreaterThanOrEqual(2);
  });

  test.each([
    ['read notes', 'SELECT * FROM notes'],
    ['write notes', "INSERT INTO notes (owner_id, title) VALUES ('sub-alice', 'x')"],
    ['create jobs', `INSERT INTO outbox (job_type, payload) VALUES ('note.created', '{}')`],
    ['rewrite job payloads', `UPDATE outbox SET payload = '{}'`],
    ['rewrite job types', `UPDATE outbox SET job_type = 'note.deleted'`],
    ['record processed jobs', "INSERT INTO processed_jobs (job_id, job_type) VALUES ('9', 'note.created')"],
    ['write heartbeats', "INSERT INTO heartbeat (source) VALUES ('relay')"],
  ])('is refused: %s', async (_what, sql) => {
    expect(await sqlStateOf('shipshape_outbox_relay', sql)).toBe(INSUFFICIENT_PRIVILEGE);
  });
});

describe('shipshape_heartbeat', () => {
  test('writes a heartbeat and reads back its id and time', async () => {
    const { rows } = await as('shipshape_heartbeat', undefined, (c) =>
      c.query("INSERT INTO public.heartbeat (source) VALUES ('heartbeat') RETURNING id, recorded_at"),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].recorded_at).toBeInstanceOf(Date);
  });

  test.each([
    ['read heartbeat sources', 'SELECT source FROM heartbeat'],
    ['delete heartbeats', 'DELETE FROM heartbeat'],
    ['rewrite heartbeats', "UPDATE heartbeat SET recorded_at = now() + interval '1 day'"],
    ['read notes', 'SELECT * FROM notes'],
    ['read outbox payloads', 'SELECT payload FROM outbox'],
    ['write processed jobs', "INSERT INTO processed_jobs (job_id, job_type) VALUES ('9', 'note.created')"],
  ])('is refused: %s', async (_what, sql) => {
    expect(await sqlStateOf('shipshape_heartbeat', sql)).toBe(INSUFFICIENT_PRIVILEGE);
  });
});

describe('restore_verifier (unchanged)', () => {
  test.each([
    ['mark outbox rows published', 'UPDATE outbox SET published_at = now()'],
    ['release parked rows', 'UPDATE outbox SET parked_at = NULL'],
    ['delete processed_jobs', 'DELETE FROM processed_jobs'],
  ])('is refused: %s', async (_what, sql) => {
    expect(await sqlStateOf('restore_verifier', sql)).toBe(INSUFFICIENT_PRIVILEGE);
  });

  test('reads the new outbox columns', async () => {
    const { rows } = await as('restore_verifier', undefined, (c) =>
      c.query('SELECT count(*)::int AS n FROM outbox WHERE parked_at IS NULL AND refusals >= 0'),
    );
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
  });
});

describe('app during the transition release', () => {
  test('the previous release, still signing in as app, creates notes with jobs and relays them', async () => {
    const { jobId } = await createNote('app', 'sub-dave');
    const stamped = await as('app', undefined, (c) =>
      c.query('UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = $1', [jobId]),
    );
    expect(stamped.rowCount).toBe(1);
  });
});
