import {
  createTestDatabase,
  createdAtOf,
  dropStaleTestDatabases,
  templateName,
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
        '0004_outbox',
        '0005_idempotency_keys',
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

  test('the sweep drops templates of other migration sets built more than a day ago, and keeps recent ones', async () => {
    const suffix = Date.now().toString(16).padStart(16, '0').slice(-16);
    const old = `shipshape_tpl_old${suffix.slice(3)}`;
    const recent = `shipshape_tpl_new${suffix.slice(3)}`;
    await withAdminClient(async (admin) => {
      for (const [name, builtAt] of [
        [old, Date.now() - 2 * 24 * 60 * 60 * 1000],
        [recent, Date.now()],
      ] as const) {
        await admin.query(`CREATE DATABASE "${name}"`);
        await admin.query(`COMMENT ON DATABASE "${name}" IS 'shipshape test template built ${builtAt}'`);
        await admin.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
      }
    });
    try {
      const dropped = await dropStaleTestDatabases();
      expect(dropped).toContain(old);
      expect(dropped).not.toContain(recent);
      expect(dropped).not.toContain(templateName());
      expect(await databaseExists(old)).toBe(false);
      expect(await databaseExists(recent)).toBe(true);
    } finally {
      await withAdminClient(async (admin) => {
        for (const name of [old, recent]) {
          if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 0)
            continue;
          await admin.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE false`);
          await admin.query(`DROP DATABASE "${name}"`);
        }
      });
    }
  });
});
