import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { connectCacheFromEnv, createPoolFromEnv, runInRequestScope } from '../../../lambda/runtime';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('createPoolFromEnv against the real PostgreSQL', () => {
  let db: TestDatabase;
  let pool: Pool;
  beforeAll(async () => {
    db = await createTestDatabase('envpool');
    pool = createPoolFromEnv({ env: { DATABASE_URL: db.url } });
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  test('tags every statement inside a request with its request id, and none outside', async () => {
    const inside = await runInRequestScope({ requestId: 'req-sql-42', deadline: Date.now() + 1000 }, () =>
      pool.query<{ q: string }>('SELECT current_query() AS q'),
    );
    expect(inside.rows[0].q).toBe('/* request_id=req-sql-42 */ SELECT current_query() AS q');
    const outside = await pool.query<{ q: string }>({ text: 'SELECT current_query() AS q' });
    expect(outside.rows[0].q).toBe('SELECT current_query() AS q');
  });

  test('tags queries given as a config object and keeps their parameters', async () => {
    const result = await runInRequestScope({ requestId: 'req-cfg-7', deadline: Date.now() + 1000 }, () =>
      pool.query<{ q: string; n: number }>({
        text: 'SELECT current_query() AS q, $1::int AS n',
        values: [7],
      }),
    );
    expect(result.rows[0]).toEqual({
      q: '/* request_id=req-cfg-7 */ SELECT current_query() AS q, $1::int AS n',
      n: 7,
    });
  });

  test('on AWS it connects as DB_USER with an IAM token over verified TLS', () => {
    const iam = createPoolFromEnv({
      env: { DB_HOST: 'proxy.example', DB_NAME: 'app', DB_USER: 'app', AWS_REGION: 'eu-west-1' },
    });
    const options = (iam as unknown as { options: Record<string, unknown> }).options;
    expect(options).toMatchObject({
      host: 'proxy.example',
      user: 'app',
      ssl: { rejectUnauthorized: true },
      max: 2,
    });
    expect(typeof options.password).toBe('function');
    void iam.end();
  });

  test('fails when DB_HOST is set without the rest, or nothing is set', () => {
    expect(() => createPoolFromEnv({ env: { DB_HOST: 'proxy.example' } })).toThrow(
      'DB_HOST is set but DB_NAME, DB_USER, AWS_REGION is not',
    );
    expect(() => createPoolFromEnv({ env: {} })).toThrow(
      /set DB_HOST, DB_NAME, DB_USER and AWS_REGION .* or DATABASE_URL/,
    );
    expect(() => createPoolFromEnv({ env: { DATABASE_URL: db.url, DB_QUERY_TIMEOUT_MS: 'soon' } })).toThrow(
      "expected a positive integer, got 'soon'",
    );
  });
});

describe('connectCacheFromEnv against the real Redis', () => {
  test('connects once per container and serves commands', async () => {
    const client = await connectCacheFromEnv({ env: { REDIS_URL } });
    const again = await connectCacheFromEnv({ env: { REDIS_URL } });
    expect(again).toBe(client);
    const key = `shipshape-test:env-cache:${randomBytes(4).toString('hex')}`;
    await client.set(key, 'v', { EX: 30 });
    expect(await client.get(key)).toBe('v');
    await client.del(key);
    client.destroy();
  });
});
