import {
  createTestDatabase,
  createdAtOf,
  dropStaleTestDatabases,
  testDatabaseName,
  withAdminClient,
} from './postgres';

async function databaseExists(name: string): Promise<boolean> {
  return withAdminClient(async (admin) => {
    const result = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return result.rowCount === 1;
  });
}

describe('test database helper', () => {
  test('names are unique, at most 63 bytes, and carry their creation time', () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5);
    const a = testDatabaseName('Notes API / pagination tests with a very long prefix indeed', now);
    const b = testDatabaseName('Notes API / pagination tests with a very long prefix indeed', now);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^shipshape_test_notes_api_pagination_[a-z0-9_]+$/);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(63);
    expect(createdAtOf(a)).toBe(now);
    expect(createdAtOf('somebody_elses_db')).toBeUndefined();
  });

  test('a migrated database is a clone with every migration applied', async () => {
    const db = await createTestDatabase('helper_migrated', { migrated: true });
    try {
      const applied = await db.pool.query<{ name: string }>(
        'SELECT name FROM shipshape_migrations ORDER BY id',
      );
      expect(applied.rows.map((r) => r.name)).toEqual([
        '0001_roles',
        '0002_heartbeat',
        '0003_accounts_and_notes',
      ]);
    } finally {
      await db.drop();
    }
    expect(await databaseExists(db.name)).toBe(false);
  });

  test('an unmigrated database has no history table', async () => {
    const db = await createTestDatabase('helper_empty');
    try {
      const result = await db.pool.query("SELECT to_regclass('public.shipshape_migrations') AS t");
      expect(result.rows[0].t).toBeNull();
    } finally {
      await db.drop();
    }
  });

  test('the stale sweep drops test databases older than an hour and keeps fresh ones', async () => {
    const oldName = testDatabaseName('helper_stale', Date.now() - 2 * 60 * 60 * 1000);
    await withAdminClient((admin) => admin.query(`CREATE DATABASE "${oldName}"`));
    const fresh = await createTestDatabase('helper_fresh');
    try {
      const dropped = await dropStaleTestDatabases();
      expect(dropped).toContain(oldName);
      expect(dropped).not.toContain(fresh.name);
      expect(await databaseExists(oldName)).toBe(false);
      expect(await databaseExists(fresh.name)).toBe(true);
    } finally {
      await fresh.drop();
      await withAdminClient((admin) => admin.query(`DROP DATABASE IF EXISTS "${oldName}"`));
    }
  });
});
