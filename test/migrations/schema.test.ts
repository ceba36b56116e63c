/**
 * What the migrations promise the service, checked on a migrated database as the real roles:
 * row-level security isolates callers, restore_verifier reads everything and writes nothing,
 * constraints reject bad rows, the pagination index serves the cursor query.
 */
import type { PoolClient } from 'pg';
import { loadMigrations } from '../../lib/migrations';
import { asRole, createTestDatabase, type TestDatabase } from '../helpers/postgres';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('schema', { migrated: true });
});
afterAll(() => db.drop());

/** {@link asRole} on this file's database. */
const as = <T>(
  role: 'app' | 'restore_verifier',
  callerId: string | undefined,
  work: (client: PoolClient) => Promise<T>,
  commit = false,
): Promise<T> => asRole(db, role, callerId, work, commit);

/** Runs `work` as `role` and returns the SQLSTATE it failed with. */
async function sqlStateOf(
  role: 'app' | 'restore_verifier',
  callerId: string | undefined,
  sql: string,
  params: unknown[] = [],
): Promise<string | undefined> {
  return as(role, callerId, (c) => c.query(sql, params)).then(
    () => undefined,
    (error: { code?: string }) => error.code,
  );
}

const ALICE = 'sub-alice';
const BOB = 'sub-bob';

describe('row-level security as the app role', () => {
  beforeAll(async () => {
    for (const [caller, title] of [
      [ALICE, 'alice note'],
      [BOB, 'bob note'],
    ]) {
      await as(
        'app',
        caller,
        async (c) => {
          await c.query('INSERT INTO accounts (id) VALUES ($1)', [caller]);
          await c.query('INSERT INTO notes (owner_id, title) VALUES ($1, $2)', [caller, title]);
        },
        true,
      );
    }
  });

  test('a caller sees only their own notes and account', async () => {
    const seen = await as('app', ALICE, async (c) => ({
      notes: (await c.query('SELECT title FROM notes')).rows,
      accounts: (await c.query('SELECT id FROM accounts')).rows,
    }));
    expect(seen).toEqual({ notes: [{ title: 'alice note' }], accounts: [{ id: ALICE }] });
  });

  test('without app.caller_id the app role sees nothing', async () => {
    const notes = await as('app', undefined, (c) => c.query('SELECT * FROM notes'));
    expect(notes.rowCount).toBe(0);
  });

  test("a caller cannot change or delete another caller's note", async () => {
    const changed = await as('app', BOB, async (c) => ({
      updated: (await c.query("UPDATE notes SET title = 'hijacked' WHERE owner_id = $1", [ALICE])).rowCount,
      deleted: (await c.query('DELETE FROM notes WHERE owner_id = $1', [ALICE])).rowCount,
    }));
    expect(changed).toEqual({ updated: 0, deleted: 0 });
  });

  test('a caller cannot write a note or account owned by someone else (WITH CHECK)', async () => {
    expect(
      await sqlStateOf('app', BOB, 'INSERT INTO notes (owner_id, title) VALUES ($1, $2)', [ALICE, 'x']),
    ).toBe('42501');
    expect(
      await sqlStateOf('app', BOB, 'UPDATE notes SET owner_id = $1 WHERE owner_id = $2', [ALICE, BOB]),
    ).toBe('42501');
    expect(await sqlStateOf('app', BOB, 'INSERT INTO accounts (id) VALUES ($1)', ['sub-mallory'])).toBe(
      '42501',
    );
  });

  test('row-level security is forced, so it binds the table owner too', async () => {
    const tables = await db.pool.query(
      `SELECT relname, relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner) AS owner
       FROM pg_class WHERE relname IN ('accounts', 'notes') ORDER BY relname`,
    );
    expect(tables.rows).toEqual([
      { relname: 'accounts', relrowsecurity: true, relforcerowsecurity: true, owner: 'shipshape_owner' },
      { relname: 'notes', relrowsecurity: true, relforcerowsecurity: true, owner: 'shipshape_owner' },
    ]);
  });

  test('the app role may write heartbeats but not delete them, and cannot touch the history', async () => {
    const inserted = await as('app', undefined, (c) =>
      c.query("INSERT INTO heartbeat (source) VALUES ('test') RETURNING id, recorded_at"),
    );
    expect(inserted.rows[0]).toEqual({ id: expect.any(String), recorded_at: expect.any(Date) });
    expect(await sqlStateOf('app', undefined, 'DELETE FROM heartbeat')).toBe('42501');
    expect(await sqlStateOf('app', undefined, 'SELECT * FROM shipshape_migrations')).toBe('42501');
  });
});

describe('restore_verifier', () => {
  beforeAll(async () => {
    await as(
      'app',
      'sub-carol',
      async (c) => {
        await c.query('INSERT INTO accounts (id) VALUES ($1)', ['sub-carol']);
        await c.query("INSERT INTO notes (owner_id, title) VALUES ('sub-carol', 'carol note')");
        await c.query("INSERT INTO heartbeat (source) VALUES ('writer')");
      },
      true,
    );
  });

  test('reads every row of every table, including the migration history', async () => {
    const counts = await as('restore_verifier', undefined, async (c) => {
      const result: Record<string, number> = {};
      for (const table of ['accounts', 'notes', 'heartbeat', 'shipshape_migrations']) {
        result[table] = Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
      }
      return result;
    });
    expect(counts.notes).toBeGreaterThanOrEqual(1);
    expect(counts.accounts).toBe(counts.notes); // one note per seeded account in this file
    expect(counts.heartbeat).toBeGreaterThanOrEqual(1);
    expect(counts.shipshape_migrations).toBe(loadMigrations().length);
  });

  test('cannot write anything', async () => {
    expect(
      await sqlStateOf('restore_verifier', undefined, "INSERT INTO heartbeat (source) VALUES ('x')"),
    ).toBe('42501');
    expect(await sqlStateOf('restore_verifier', undefined, "UPDATE notes SET title = 'x'")).toBe('42501');
    expect(await sqlStateOf('restore_verifier', undefined, 'DELETE FROM shipshape_migrations')).toBe('42501');
  });
});

describe('roles', () => {
  test('app and restore_verifier log in through IAM only; the owner cannot log in; nobody bypasses RLS', async () => {
    const roles = await db.pool.query(
      `SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolbypassrls, r.rolpassword IS NULL AS no_password,
              pg_has_role(r.rolname, 'rds_iam', 'MEMBER') AS iam
       FROM pg_authid r WHERE r.rolname IN ('app', 'restore_verifier', 'shipshape_owner') ORDER BY r.rolname`,
    );
    expect(roles.rows).toEqual([
      {
        rolname: 'app',
        rolcanlogin: true,
        rolsuper: false,
        rolbypassrls: false,
        no_password: true,
        iam: true,
      },
      {
        rolname: 'restore_verifier',
        rolcanlogin: true,
        rolsuper: false,
        rolbypassrls: false,
        no_password: true,
        iam: true,
      },
      {
        rolname: 'shipshape_owner',
        rolcanlogin: false,
        rolsuper: false,
        rolbypassrls: false,
        no_password: true,
        iam: false,
      },
    ]);
  });
});

describe('constraints', () => {
  const OWNER = 'sub-dave';
  beforeAll(async () => {
    await as('app', OWNER, (c) => c.query('INSERT INTO accounts (id) VALUES ($1)', [OWNER]), true);
  });
  const insertNote = (title: unknown, body: unknown = '', owner = OWNER) =>
    sqlStateOf('app', owner, 'INSERT INTO notes (owner_id, title, body) VALUES ($1, $2, $3)', [
      owner,
      title,
      body,
    ]);

  test('a note title is 1 to 200 characters', async () => {
    expect(await insertNote('')).toBe('23514');
    expect(await insertNote('x'.repeat(201))).toBe('23514');
    expect(await insertNote('x'.repeat(200))).toBeUndefined();
  });

  test('a note body is at most 10000 characters', async () => {
    expect(await insertNote('t', 'b'.repeat(10_001))).toBe('23514');
    expect(await insertNote('t', 'b'.repeat(10_000))).toBeUndefined();
  });

  test('title and body are required (NOT NULL)', async () => {
    expect(await insertNote(null)).toBe('23502');
    expect(await insertNote('t', null)).toBe('23502');
  });

  test('a note belongs to an existing account (FOREIGN KEY)', async () => {
    expect(await insertNote('t', '', 'sub-nobody')).toBe('23503');
  });

  test('an account id is unique (PRIMARY KEY)', async () => {
    expect(await sqlStateOf('app', OWNER, 'INSERT INTO accounts (id) VALUES ($1)', [OWNER])).toBe('23505');
  });

  test('a new note gets an id, version 1 and timestamps by default', async () => {
    const row = await as('app', OWNER, (c) =>
      c.query(
        "INSERT INTO notes (owner_id, title) VALUES ($1, 'd') RETURNING id, body, version, created_at, updated_at",
        [OWNER],
      ),
    );
    expect(row.rows[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      body: '',
      version: 1,
      created_at: expect.any(Date),
      updated_at: expect.any(Date),
    });
  });
});

describe('cursor pagination', () => {
  test('the index on (owner_id, created_at desc, id desc) serves the page query', async () => {
    const index = await db.pool.query(
      "SELECT indexdef FROM pg_indexes WHERE indexname = 'notes_owner_created_idx'",
    );
    expect(index.rows[0].indexdef).toContain('(owner_id, created_at DESC, id DESC)');

    const plan = await as('app', ALICE, async (c) => {
      await c.query('SET LOCAL enable_seqscan = off'); // tiny table: make the planner show its choice
      return c.query(
        `EXPLAIN SELECT id FROM notes WHERE owner_id = $1 AND (created_at, id) < ($2, $3)
         ORDER BY created_at DESC, id DESC LIMIT 20`,
        [ALICE, new Date(), '00000000-0000-0000-0000-000000000000'],
      );
    });
    expect(plan.rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n')).toContain(
      'notes_owner_created_idx',
    );
  });
});
