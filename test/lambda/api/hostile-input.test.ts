/**
 * Property-based tests: generated hostile requests (bodies, paths, query strings, cursors,
 * headers) against the real handler on the real PostgreSQL and Redis. For every one: the answer
 * is 2xx or 4xx (never 5xx: a client cannot page anyone), it is the one JSON error body when it
 * is 4xx, nothing was written for a refused request, and nothing escaped as an unhandled
 * rejection.
 *
 * Seeded and reproducible: `SHIPSHAPE_PROPERTY_SEED=<n>` replays a run (the seed is printed when
 * a property fails); `SHIPSHAPE_PROPERTY_RUNS=<n>` scales the number of cases (default 2,400 in
 * all).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { ApiResponse } from '../../../lambda/runtime/http';
import type { TestDatabase } from '../../helpers/postgres';
import { bodyOf, call, createNote, type RequestOptions, RUN, startApi, stopApi } from './harness';

const SEED = Number(process.env.SHIPSHAPE_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.SHIPSHAPE_PROPERTY_RUNS ?? 2400);
const CALLERS = [`prop-a-${RUN}`, `prop-b-${RUN}`];

let db: TestDatabase;
const noteIds: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  ({ db } = await startApi('property'));
  for (const caller of CALLERS) noteIds.push((await createNote(caller, 'seed note')).id);
  process.on('unhandledRejection', onUnhandled);
  // The handler's EMF metrics go to stdout: thousands of lines of noise here.
  const write = process.stdout.write.bind(process.stdout);
  jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) =>
      String(chunk).includes('"_aws"') ? true : (write as (...a: unknown[]) => boolean)(chunk, ...rest),
    );
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  jest.restoreAllMocks();
  await stopApi();
});

// ---------------------------------------------------------------- arbitraries
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const nasty = fc.constantFrom(
  '\u0000',
  '\u0000\u0000',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  '\u202e',
  '\ufeff',
  '\uffff',
  '\\',
  '%00',
  "'; DROP TABLE notes; --",
  '*/',
  '$1',
  ' ',
  '\t\n',
);
/** Text with NULs, lone surrogates, astral characters, SQL-looking bits, at and around the limits. */
const hostileText = fc.oneof(
  fc
    .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), nasty, loneSurrogate), { maxLength: 8 })
    .map((parts) => parts.join('')),
  fc
    .constantFrom(200, 201, 10_000, 10_001)
    .chain((n) => fc.constantFrom('x', '\ud83d\ude00', 'é', ' ').map((c) => c.repeat(n))),
  fc.constantFrom('x'.repeat(199) + '\u0000', ' '.repeat(201), `${'a'.repeat(199)}\ud800`),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -1,
    1,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 53,
    -(2 ** 31),
    1.5,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
  ),
);
const hostileValue = fc.oneof(
  hostileText,
  hostileNumber,
  fc.constantFrom(null, true, false, [], {}, ['x'], { title: 'nested' }),
);
/** A JSON body: the note fields with hostile values (and sometimes extra keys), or anything. */
const noteBody = fc.oneof(
  fc
    .record({ title: hostileValue, body: hostileValue, version: hostileValue }, { requiredKeys: [] })
    .map((o) => JSON.stringify(o)),
  fc.record({ title: hostileText, body: hostileText, version: hostileNumber }).map((o) => JSON.stringify(o)),
  fc.dictionary(fc.string({ maxLength: 6 }), hostileValue, { maxKeys: 4 }).map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  // Raw text: broken JSON, numbers too big for a double, a proto key, deep nesting, over 16 KiB.
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '{"title": "x", "version": 99999999999999999999999}',
    '{"title": "x", "body": "y", "version": 1e400}',
    '{"__proto__": {"title": "x"}, "title": "y"}',
    '{"title": "\\u0000"}',
    '{"title": "\\ud800"}',
    '{"title": "ok", "body": "\\udc00\\ud800"}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    JSON.stringify({ title: 't', body: 'x'.repeat(20_000) }),
    '',
  ),
);
const uuid = fc.uuid();
const noteIdInPath = fc.oneof(
  fc.constantFrom(...[0, 1]).map((i) => () => noteIds[i]),
  fc.constantFrom(0, 1).map((i) => () => noteIds[i].toUpperCase()),
  uuid.map((id) => () => id),
  hostileText.map((t) => () => (t.isWellFormed() ? encodeURIComponent(t) : t)),
  hostileText.map((t) => () => t),
  fc.constantFrom('%', '%zz', '%00', '%ud800', '..', '%2F', `${'a'.repeat(3000)}`).map((t) => () => t),
);
const path = fc
  .oneof(
    fc.constantFrom('/notes', '/notes/', '/health', '/', '', '//notes', '/notes//', '/NOTES'),
    noteIdInPath.map((id) => () => `/notes/${id()}`),
    noteIdInPath.map((id) => () => `/notes/${id()}/extra`),
    hostileText.map((t) => `/${t}`),
  )
  .map((p) => (typeof p === 'function' ? p : () => p));
const method = fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'get', 'TRACE');

/** A cursor as this API would issue it, but hand-made: any time, any id. */
const cursorTime = (i: fc.Arbitrary<unknown>) =>
  fc.record({
    c: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom(
        '0000-01-01T00:00:00Z',
        '0000-12-31T23:59:59.999999+00:00',
        '9999-12-31T23:59:59Z',
        '2024-02-29T00:00:00+14:00',
        '2024-01-01T00:00:00+99:00',
        '2024-01-01T00:00:00-15:59',
        '2024-01-01T00:00:00+16:00',
        '2023-02-29T00:00:00Z',
        '2024-01-01T24:00:00Z',
        '2024-01-01T00:00:60Z',
      ),
      hostileText,
    ),
    i,
  });
const toCursor = (cursor: unknown) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
const handMadeCursor = cursorTime(fc.oneof(uuid, hostileText, fc.constant(null))).map(toCursor);
/** Well-formed but for the time: what reaches the database if validation lets it through. */
const wellFormedCursor = cursorTime(uuid).map(toCursor);
const query = fc.oneof(
  fc.constant(undefined),
  fc.record(
    {
      limit: fc.oneof(
        fc.integer().map(String),
        hostileText,
        fc.constantFrom('1e1', '0x10', ' 5 ', '1,2', '100', '101'),
      ),
      cursor: fc.oneof(handMadeCursor, hostileText, fc.base64String({ maxLength: 600 })),
    },
    { requiredKeys: [] },
  ),
  fc.dictionary(fc.string({ maxLength: 5 }), hostileText, { maxKeys: 3 }),
  fc.constant({ limit: '5', cursor: 'x'.repeat(100_000) }),
);
const headers = fc.record(
  {
    'content-type': fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        '',
        'APPLICATION/JSON',
      ),
      hostileText,
    ),
    'Content-Type': fc.constantFrom('application/json', 'text/html'),
    'x-request-id': fc.oneof(hostileText, fc.constantFrom('ok-request-id-1', 'x */ SELECT pg_sleep(10); --')),
    'idempotency-key': fc.oneof(
      uuid,
      hostileText,
      fc.constantFrom('short', 'a'.repeat(128), 'a'.repeat(129), 'key\u0000key\u0000', 'ключ-ключ-ключ'),
    ),
    'x-origin-verify': hostileText,
    accept: hostileText,
  },
  { requiredKeys: [] },
);

interface HostileRequest {
  readonly method: string;
  readonly path: () => string;
  readonly options: RequestOptions;
}

const request = fc
  .record({
    method,
    path,
    as: fc.constantFrom(...CALLERS),
    body: fc.option(noteBody, { nil: undefined }),
    base64: fc.boolean(),
    query,
    headers,
  })
  .map((r): HostileRequest => ({
    method: r.method,
    path: r.path,
    options: {
      as: r.as,
      rawBody: r.body === undefined ? undefined : r.base64 ? Buffer.from(r.body).toString('base64') : r.body,
      isBase64Encoded: r.base64,
      query: r.query as Record<string, string> | undefined,
      headers: r.headers as Record<string, string>,
      idempotencyKey: r.headers['idempotency-key'] === undefined ? undefined : null,
    },
  }));

// ---------------------------------------------------------------- checks
/** Everything a request could have written, as the superuser sees it. */
async function fingerprint(): Promise<string> {
  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*) FROM notes) AS notes,
            (SELECT coalesce(sum(version), 0) FROM notes) AS versions,
            (SELECT max(updated_at)::text FROM notes) AS updated,
            (SELECT count(*) FROM accounts) AS accounts,
            (SELECT count(*) FROM outbox) AS jobs,
            (SELECT count(*) FROM idempotency_keys) AS keys`,
  );
  return JSON.stringify(rows[0]);
}

async function checkOne(req: HostileRequest): Promise<void> {
  const before = await fingerprint();
  const response: ApiResponse = await call(req.method, req.path(), req.options);
  expect(response.statusCode).toBeGreaterThanOrEqual(200);
  expect(response.statusCode).toBeLessThan(500);
  if (response.statusCode >= 400) {
    const { error } = bodyOf<{ error: { code: string; message: string } }>(response);
    expect(typeof error.code).toBe('string');
    expect(error.message.length).toBeGreaterThan(0);
    // A refused request wrote nothing: no note, no account, no job, no key.
    expect(await fingerprint()).toBe(before);
  }
}

async function runProperty(name: string, property: fc.IAsyncProperty<[HostileRequest]>, numRuns: number) {
  try {
    await fc.assert(property, { seed: SEED, numRuns, endOnFailure: false });
  } catch (error) {
    throw new Error(
      `${name} failed; reproduce with SHIPSHAPE_PROPERTY_SEED=${SEED}\n${(error as Error).message}\n${String((error as Error).cause)}`,
      { cause: error },
    );
  }
}

describe(`hostile input never yields a 5xx (seed ${SEED})`, () => {
  test('any method, path, query, headers and body: 2xx/4xx, and nothing written when refused', async () => {
    await runProperty('mixed requests', fc.asyncProperty(request, checkOne), Math.ceil(RUNS / 3));
    expect(unhandled).toEqual([]);
  });

  test('writes with hostile JSON bodies to real notes', async () => {
    const write = fc
      .record({
        method: fc.constantFrom('POST', 'PATCH', 'PUT'),
        which: fc.constantFrom(0, 1),
        upper: fc.boolean(),
        body: noteBody,
      })
      .map((r): HostileRequest => ({
        method: r.method,
        path: () => {
          const id = noteIds[r.which];
          return r.method === 'POST' ? '/notes' : `/notes/${r.upper ? id.toUpperCase() : id}`;
        },
        options: { as: CALLERS[r.which], rawBody: r.body, idempotencyKey: randomUUID() },
      }));
    await runProperty('hostile bodies', fc.asyncProperty(write, checkOne), Math.ceil(RUNS / 3));
    expect(unhandled).toEqual([]);
  });

  test('list queries with hand-made cursors and hostile limits', async () => {
    const cursorQuery = fc.record(
      { limit: fc.constantFrom('1', '20', '100'), cursor: fc.oneof(wellFormedCursor, handMadeCursor) },
      { requiredKeys: ['cursor'] },
    );
    const list = fc
      .record({ which: fc.constantFrom(0, 1), query: fc.oneof(cursorQuery, query) })
      .map((r): HostileRequest => ({
        method: 'GET',
        path: () => '/notes',
        options: { as: CALLERS[r.which], query: r.query as Record<string, string> | undefined },
      }));
    await runProperty('hostile queries', fc.asyncProperty(list, checkOne), Math.ceil(RUNS / 3));
    expect(unhandled).toEqual([]);
  });
});

describe('the inputs issue 19 found reach no 5xx', () => {
  test.each([
    ['a NUL in a title', { title: 'a\u0000b' }, /Unicode text without NUL/],
    ['a NUL in a body', { title: 'ok', body: 'x\u0000' }, /Unicode text without NUL/],
    ['a lone surrogate', { title: 'a\ud800' }, /Unicode text without NUL/],
  ])('%s is a 400 naming the field', async (_name, body, message) => {
    const response = await call('POST', '/notes', { as: CALLERS[0], body });
    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(bodyOf(response))).toMatch(message);
  });

  test('a version above 2^31-1 is a 400', async () => {
    const response = await call('PATCH', `/notes/${noteIds[0]}`, {
      as: CALLERS[0],
      body: { title: 'x', version: 2 ** 31 },
    });
    expect(response.statusCode).toBe(400);
    expect(bodyOf<{ error: { fields: unknown } }>(response).error.fields).toEqual({
      version: ['must be at most 2147483647'],
    });
  });

  test('a hand-made cursor with year 0000 is a 400', async () => {
    const cursor = Buffer.from(JSON.stringify({ c: '0000-01-01T00:00:00Z', i: randomUUID() })).toString(
      'base64url',
    );
    const response = await call('GET', '/notes', { as: CALLERS[0], query: { cursor } });
    expect(response.statusCode).toBe(400);
    expect(bodyOf<{ error: { fields: unknown } }>(response).error.fields).toEqual({
      cursor: ['is not a cursor this API issued'],
    });
  });
});
