import { Client } from 'pg';
import { classify, dataException } from '../../../lambda/runtime/errors';
import { TEST_DATABASE_URL } from '../../helpers/postgres';

// The errors come from the real server: what it raises for values the API failed to refuse.
let client: Client;
beforeAll(async () => {
  client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
});
afterAll(() => client.end());

async function errorOf(text: string, params: unknown[]): Promise<unknown> {
  try {
    await client.query(text, params);
  } catch (error) {
    return error;
  }
  throw new Error(`${text} did not fail`);
}

describe('PostgreSQL data exceptions are the caller’s fault: 400, never 5xx', () => {
  test.each([
    ['a NUL in text', 'SELECT $1::text', ['a\u0000b'], '22021', /NUL/],
    ['an int out of range', 'SELECT $1::int', ['2147483648'], '22003', /out of range/],
    ['year 0000', 'SELECT $1::timestamptz', ['0000-01-01T00:00:00Z'], '22008', /date or time/],
    ['a malformed uuid', 'SELECT $1::uuid', ['nope'], '22P02', /format/],
  ])('%s', async (_name, text, params, code, message) => {
    const error = await errorOf(text, params);
    expect((error as { code: string }).code).toBe(code);
    const refused = classify(error);
    expect(refused.status).toBe(400);
    expect(refused.code).toBe('invalid_value');
    expect(refused.message).toMatch(message);
    // Nothing of the statement or the server's own wording leaks.
    expect(refused.message).not.toMatch(/SELECT|\$1|syntax|invalid input/);
  });

  test('a CHECK violation (23514) is a 400; a unique violation (23505) stays a fault', async () => {
    await client.query('CREATE TEMP TABLE t (x int CHECK (x > 0) UNIQUE)');
    await client.query('INSERT INTO t VALUES (1)');
    expect(classify(await errorOf('INSERT INTO t VALUES ($1)', [-1])).status).toBe(400);
    const duplicate = await errorOf('INSERT INTO t VALUES ($1)', [1]);
    expect(dataException(duplicate)).toBeUndefined();
    expect(classify(duplicate).status).toBe(500);
  });

  test('connection errors stay retryable (503)', () => {
    expect(classify(Object.assign(new Error('x'), { code: '08006' })).status).toBe(503);
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' })).status).toBe(503);
  });
});
