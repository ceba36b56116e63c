import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { generateKeyPair } from 'jose';
import { Client, type Pool } from 'pg';
import { type ApiDependencies, createApiHandler } from '../../../lambda/api/app';
import { originGuard } from '../../../lambda/api/origin-guard';
import { createOriginVerifier } from '../../../lambda/shared/origin-verify';
import { Database } from '../../../lambda/runtime/pool';
import type { ApiResponse } from '../../../lambda/runtime/http';
import type { TestDatabase } from '../../helpers/postgres';
import {
  accessToken,
  ALICE,
  appRolePool,
  BOB,
  bodyOf,
  call,
  context,
  countNotes,
  createNote,
  dependencies,
  event,
  type NoteBody,
  redisClient,
  RUN,
  startApi,
  stopApi,
  superuserPool,
} from './harness';

// Handler tests against the real PostgreSQL and Redis of the test run (see ./harness.ts).

let db: TestDatabase;
let appPool: Pool;

beforeAll(async () => {
  ({ db, appPool } = await startApi('service'));
});

afterAll(stopApi);

describe('notes CRUD', () => {
  test('creates, reads, updates and deletes a note', async () => {
    const created = await createNote(ALICE, '  Groceries  ', 'milk');
    expect(created).toMatchObject({ title: 'Groceries', body: 'milk', version: 1 });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    // The notification job was committed with the note (transactional outbox).
    const outbox = await db.pool.query("SELECT job_type, payload FROM outbox WHERE payload->>'noteId' = $1", [
      created.id,
    ]);
    expect(outbox.rows).toEqual([
      { job_type: 'note.created', payload: { noteId: created.id, ownerId: ALICE } },
    ]);

    const read = await call('GET', `/notes/${created.id}`);
    expect(read.statusCode).toBe(200);
    expect(bodyOf(read)).toEqual(created);

    const patched = await call('PATCH', `/notes/${created.id}`, { body: { body: 'milk, eggs', version: 1 } });
    expect(patched.statusCode).toBe(200);
    expect(bodyOf(patched)).toMatchObject({ title: 'Groceries', body: 'milk, eggs', version: 2 });

    const put = await call('PUT', `/notes/${created.id}`, {
      body: { title: 'Shopping', body: '', version: 2 },
    });
    expect(put.statusCode).toBe(200);
    expect(bodyOf(put)).toMatchObject({ title: 'Shopping', body: '', version: 3 });

    const deleted = await call('DELETE', `/notes/${created.id}`);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect((await call('GET', `/notes/${created.id}`)).statusCode).toBe(404);
  });

  test('refuses an update based on a stale version with 409 and the current version', async () => {
    const note = await createNote();
    await call('PATCH', `/notes/${note.id}`, { body: { title: 'first', version: 1 } });
    const stale = await call('PATCH', `/notes/${note.id}`, { body: { title: 'second', version: 1 } });
    expect(stale.statusCode).toBe(409);
    expect(bodyOf(stale).error).toMatchObject({
      code: 'version_conflict',
      message: expect.stringMatching(/version 2, not 1/),
    });
  });

  test('lists the caller’s notes newest first with an opaque cursor until the last page', async () => {
    const caller = `pager-${RUN}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createNote(caller, `note ${i}`)).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    const pageSizes: number[] = [];
    do {
      const response = await call('GET', '/notes', {
        as: caller,
        query: { limit: '2', ...(cursor ? { cursor } : {}) },
      });
      expect(response.statusCode).toBe(200);
      const page = bodyOf<{ items: NoteBody[]; nextCursor?: string }>(response);
      pageSizes.push(page.items.length);
      seen.push(...page.items.map((n) => n.id));
      cursor = page.nextCursor;
      if (cursor) expect(() => JSON.parse(cursor as string)).toThrow(); // opaque, not raw JSON
    } while (cursor);
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual([...ids].reverse());
  });
});

describe('validation', () => {
  test('answers field-level 400 errors in the one error body', async () => {
    const response = await call('POST', '/notes', {
      body: { title: '', body: 42, colour: 'red' },
      headers: { 'x-request-id': 'edge-req-0001' },
    });
    expect(response.statusCode).toBe(400);
    const { error } = bodyOf<{ error: Record<string, unknown> }>(response);
    expect(error).toMatchObject({
      code: 'validation_failed',
      message: 'the body is invalid',
      requestId: 'edge-req-0001',
    });
    expect(error.fields).toEqual({
      title: ['must not be empty'],
      body: ['must be a string'],
      '(root)': [expect.stringContaining('colour')],
    });
  });

  test('limits titles to 200 characters', async () => {
    const response = await call('POST', '/notes', { body: { title: 'x'.repeat(201) } });
    expect(response.statusCode).toBe(400);
    expect(bodyOf<{ error: { fields: unknown } }>(response).error.fields).toEqual({
      title: ['must be at most 200 characters'],
    });
  });

  test('needs a version and at least one field on PATCH', async () => {
    const note = await createNote();
    const noVersion = await call('PATCH', `/notes/${note.id}`, { body: { title: 'x' } });
    expect(bodyOf<{ error: { fields: unknown } }>(noVersion).error.fields).toEqual({
      version: ['must be an integer'],
    });
    const nothing = await call('PATCH', `/notes/${note.id}`, { body: { version: 1 } });
    expect(nothing.statusCode).toBe(400);
    expect(bodyOf<{ error: { fields: unknown } }>(nothing).error.fields).toEqual({
      title: ['send at least one of title, body'],
    });
  });

  test('refuses a body that is not JSON', async () => {
    const response = await call('POST', '/notes', { rawBody: '{"title": ' });
    expect(response.statusCode).toBe(400);
    expect(bodyOf<{ error: { message: string } }>(response).error.message).toBe('the body is not valid JSON');
  });

  test('refuses a body over 16 KiB with 413 before parsing it', async () => {
    const response = await call('POST', '/notes', { body: { title: 't', body: 'x'.repeat(17_000) } });
    expect(response.statusCode).toBe(413);
    expect(bodyOf<{ error: { code: string } }>(response).error.code).toBe('payload_too_large');
  });

  test('refuses a body that is not application/json with 415', async () => {
    const response = await call('POST', '/notes', {
      rawBody: 'title=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.statusCode).toBe(415);
  });

  test('validates the path id, the page size and the cursor', async () => {
    const badId = await call('GET', '/notes/not-a-uuid');
    expect(badId.statusCode).toBe(400);
    expect(bodyOf<{ error: { fields: unknown } }>(badId).error.fields).toEqual({
      '(root)': ['must be a note id (UUID)'],
    });

    const badLimit = await call('GET', '/notes', { query: { limit: '500' } });
    expect(bodyOf<{ error: { fields: unknown } }>(badLimit).error.fields).toEqual({
      limit: ['must be at most 100'],
    });

    const badCursor = await call('GET', '/notes', { query: { cursor: 'bm90LWEtY3Vyc29y' } });
    expect(badCursor.statusCode).toBe(400);
    expect(bodyOf<{ error: { fields: unknown } }>(badCursor).error.fields).toEqual({
      cursor: ['is not a cursor this API issued'],
    });
  });

  test('answers 404 for an unknown route and 405 for a wrong method', async () => {
    expect((await call('GET', '/nope')).statusCode).toBe(404);
    const wrong = await call('POST', '/health');
    expect(wrong.statusCode).toBe(405);
    expect(bodyOf<{ error: { message: string } }>(wrong).error.message).toMatch(/use GET/);
  });
});

describe('idempotency keys on writes', () => {
  test('refuses a write without an Idempotency-Key', async () => {
    const response = await call('POST', '/notes', { body: { title: 'x' }, idempotencyKey: null });
    expect(response.statusCode).toBe(400);
    expect(bodyOf<{ error: { fields: Record<string, unknown> } }>(response).error.fields).toHaveProperty(
      'Idempotency-Key',
    );
  });

  test('a replay returns the first response and writes nothing', async () => {
    const caller = `replay-${RUN}`;
    const key = randomUUID();
    const first = await call('POST', '/notes', { as: caller, body: { title: 'once' }, idempotencyKey: key });
    const again = await call('POST', '/notes', { as: caller, body: { title: 'once' }, idempotencyKey: key });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await countNotes(caller)).toBe(1);
  });

  test('concurrent duplicates write once; the others get the result or 409 in progress', async () => {
    const caller = `concurrent-${RUN}`;
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        call('POST', '/notes', { as: caller, body: { title: 'dup' }, idempotencyKey: key }),
      ),
    );
    expect(await countNotes(caller)).toBe(1);
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    const conflict = responses.find((r) => r.statusCode === 409);
    if (conflict) {
      expect(conflict.headers['retry-after']).toBe('1');
      expect(bodyOf<{ error: { code: string } }>(conflict).error.code).toBe('idempotency_in_progress');
    }
    const ids = new Set(responses.filter((r) => r.statusCode === 201).map((r) => bodyOf<NoteBody>(r).id));
    expect(ids.size).toBe(1);
    // Once the first completed, a retry is a replay.
    const retry = await call('POST', '/notes', { as: caller, body: { title: 'dup' }, idempotencyKey: key });
    expect(bodyOf<NoteBody>(retry).id).toBe([...ids][0]);
  });

  test('a key reused with a different body is refused with 422', async () => {
    const key = randomUUID();
    await call('POST', '/notes', { body: { title: 'one' }, idempotencyKey: key });
    const reused = await call('POST', '/notes', { body: { title: 'two' }, idempotencyKey: key });
    expect(reused.statusCode).toBe(422);
    expect(bodyOf<{ error: { code: string } }>(reused).error.code).toBe('idempotency_key_reused');
  });

  test('keys are scoped per caller and per route', async () => {
    const key = randomUUID();
    const alice = await call('POST', '/notes', {
      as: `scope-a-${RUN}`,
      body: { title: 'same' },
      idempotencyKey: key,
    });
    const bob = await call('POST', '/notes', {
      as: `scope-b-${RUN}`,
      body: { title: 'same' },
      idempotencyKey: key,
    });
    expect(bodyOf<NoteBody>(alice).id).not.toBe(bodyOf<NoteBody>(bob).id);
    const note = bodyOf<NoteBody>(alice);
    const patched = await call('PATCH', `/notes/${note.id}`, {
      as: `scope-a-${RUN}`,
      body: { title: 'same', version: 1 },
      idempotencyKey: key,
    });
    expect(patched.statusCode).toBe(200);
    expect(bodyOf<NoteBody>(patched).version).toBe(2);
  });
});

describe('cache-aside reads', () => {
  test('serves a read from the cache and invalidates it on write', async () => {
    const note = await createNote(ALICE, 'cached');
    const miss = await call('GET', `/notes/${note.id}`);
    expect(miss.headers['x-cache']).toBe('miss');

    // Change the row behind the service's back: a cache hit still shows the old title.
    await db.pool.query("UPDATE notes SET title = 'changed directly' WHERE id = $1", [note.id]);
    const hit = await call('GET', `/notes/${note.id}`);
    expect(hit.headers['x-cache']).toBe('hit');
    expect(bodyOf<NoteBody>(hit).title).toBe('cached');

    await call('PATCH', `/notes/${note.id}`, { body: { body: 'new body', version: 1 } });
    const afterWrite = await call('GET', `/notes/${note.id}`);
    expect(afterWrite.headers['x-cache']).toBe('miss');
    expect(bodyOf<NoteBody>(afterWrite)).toMatchObject({
      title: 'changed directly',
      body: 'new body',
      version: 2,
    });
  });

  test('a delete invalidates the cached copy', async () => {
    const note = await createNote();
    await call('GET', `/notes/${note.id}`);
    await call('DELETE', `/notes/${note.id}`);
    expect((await call('GET', `/notes/${note.id}`)).statusCode).toBe(404);
  });

  test('reads still work from the database when the cache is down', async () => {
    const note = await createNote();
    const noCache = createApiHandler(dependencies({ cache: redisClient(1) }));
    const response = await noCache(await event('GET', `/notes/${note.id}`), context());
    expect(response.statusCode).toBe(200);
    expect(bodyOf<NoteBody>(response).id).toBe(note.id);
  });
});

describe('authorization: one caller never reaches another caller’s notes', () => {
  let alicesNote: NoteBody;
  beforeAll(async () => {
    alicesNote = await createNote(ALICE, 'private to alice');
  });

  test('the handler answers 404 to another caller for read, update and delete', async () => {
    expect((await call('GET', `/notes/${alicesNote.id}`, { as: BOB })).statusCode).toBe(404);
    expect(
      (await call('PATCH', `/notes/${alicesNote.id}`, { as: BOB, body: { title: 'x', version: 1 } }))
        .statusCode,
    ).toBe(404);
    expect((await call('DELETE', `/notes/${alicesNote.id}`, { as: BOB })).statusCode).toBe(404);
    const list = bodyOf<{ items: NoteBody[] }>(await call('GET', '/notes', { as: BOB }));
    expect(list.items.map((n) => n.id)).not.toContain(alicesNote.id);
    const stillThere = await db.pool.query('SELECT title FROM notes WHERE id = $1', [alicesNote.id]);
    expect(stillThere.rows[0].title).toBe('private to alice');
  });

  test('the handler’s own check holds even with row-level security out of the way', async () => {
    // The superuser bypasses RLS: only the handler's owner filter stands between Bob and the note.
    const noRls = createApiHandler(dependencies({ pool: superuserPool() }));
    expect(
      (await noRls(await event('GET', `/notes/${alicesNote.id}`, { as: BOB }), context())).statusCode,
    ).toBe(404);
    const list = bodyOf<{ items: NoteBody[] }>(
      await noRls(await event('GET', '/notes', { as: BOB }), context()),
    );
    expect(list.items.map((n) => n.id)).not.toContain(alicesNote.id);
  });

  test('row-level security holds even when a query forgets the owner filter', async () => {
    const database = new Database(appPool, 2000);
    const asBob = { callerId: BOB, requestId: 'rls-test-0001' };
    const visible = await database.transaction(asBob, (sql) =>
      sql.query('SELECT id FROM notes WHERE id = $1', [alicesNote.id]),
    );
    expect(visible).toEqual([]);
    const updated = await database.transaction(asBob, (sql) =>
      sql.query("UPDATE notes SET title = 'pwned' WHERE id = $1 RETURNING id", [alicesNote.id]),
    );
    expect(updated).toEqual([]);
    const deleted = await database.transaction(asBob, (sql) =>
      sql.query('DELETE FROM notes WHERE id = $1 RETURNING id', [alicesNote.id]),
    );
    expect(deleted).toEqual([]);
    await expect(
      database.transaction(asBob, (sql) =>
        sql.query("INSERT INTO notes (owner_id, title) VALUES ($1, 'planted')", [ALICE]),
      ),
    ).rejects.toThrow(/row-level security/);
    const row = await db.pool.query('SELECT title FROM notes WHERE id = $1', [alicesNote.id]);
    expect(row.rows[0].title).toBe('private to alice');
  });
});

describe('authentication', () => {
  test('refuses a request without the authorizer context (never trusts a raw header)', async () => {
    const response = await call('GET', '/notes', { as: null, headers: { 'x-caller-id': ALICE } });
    expect(response.statusCode).toBe(401);
    expect(bodyOf<{ error: { code: string } }>(response).error.code).toBe('unauthorized');
  });

  test('refuses a bearer token signed by a key the pool does not publish', async () => {
    const forged = await accessToken(ALICE, await generateKeyPair('RS256'));
    expect((await call('GET', '/notes', { token: forged })).statusCode).toBe(401);
  });

  test('refuses a token whose subject differs from the authorizer’s caller', async () => {
    const response = await call('GET', '/notes', { as: ALICE, token: await accessToken(BOB) });
    expect(response.statusCode).toBe(401);
    expect(bodyOf<{ error: { message: string } }>(response).error.message).toMatch(/does not match/);
  });

  test('health needs no token', async () => {
    expect((await call('GET', '/health', { as: null })).statusCode).toBe(200);
  });
});

describe('per-caller rate limit', () => {
  test('answers 429 with Retry-After once a caller spends the bucket, other callers unaffected', async () => {
    const limited = createApiHandler(dependencies({ requestsPerMinute: 2 }));
    const statuses: number[] = [];
    let last: ApiResponse | undefined;
    for (let i = 0; i < 3; i++) {
      last = await limited(await event('GET', '/notes', { as: `limited-${RUN}` }), context());
      statuses.push(last.statusCode);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(bodyOf<{ error: { code: string } }>(last!).error.code).toBe('rate_limited');
    const other = await limited(await event('GET', '/notes', { as: `unlimited-${RUN}` }), context());
    expect(other.statusCode).toBe(200);
  });
});

describe('dependency failures', () => {
  let dbDown: (event: APIGatewayProxyEventV2, context: Context) => Promise<ApiResponse>;
  let dbDownDeps: ApiDependencies;
  beforeAll(() => {
    dbDownDeps = dependencies({ pool: appRolePool({ port: 1 }) });
    dbDown = createApiHandler(dbDownDeps);
  });

  test('database down: 503 with Retry-After and the retryable error body', async () => {
    const response = await dbDown(
      await event('GET', '/notes', { headers: { 'x-request-id': 'req-db-down-01' } }),
      context(),
    );
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('1');
    expect(bodyOf(response)).toEqual({
      error: {
        code: 'dependency_unavailable',
        message: 'a dependency is temporarily unavailable; retry later',
        requestId: 'req-db-down-01',
      },
    });
  });

  test('a write that failed on the database can be retried with the same key once it is back', async () => {
    const key = randomUUID();
    const caller = `retry-${RUN}`;
    const failed = await dbDown(
      await event('POST', '/notes', { as: caller, body: { title: 'r' }, idempotencyKey: key }),
      context(),
    );
    expect(failed.statusCode).toBe(503);
    // The database (and with it the idempotency store) is back.
    const healthy = createApiHandler(dependencies());
    const retried = await healthy(
      await event('POST', '/notes', { as: caller, body: { title: 'r' }, idempotencyKey: key }),
      context(),
    );
    expect(retried.statusCode).toBe(201);
    expect(await countNotes(caller)).toBe(1);
  });

  test('health reports each dependency: 200 when both answer, 503 naming the one that does not', async () => {
    const ok = await call('GET', '/health', { as: null });
    expect(ok.statusCode).toBe(200);
    expect(bodyOf(ok)).toMatchObject({
      status: 'ok',
      checks: { database: { status: 'ok' }, cache: { status: 'ok' } },
    });

    const down = await dbDown(await event('GET', '/health', { as: null }), context());
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(bodyOf(down)).toMatchObject({
      status: 'degraded',
      checks: { database: { status: 'error', error: 'dependency_unavailable' }, cache: { status: 'ok' } },
    });

    const cacheDown = createApiHandler(dependencies({ cache: redisClient(1) }));
    const noCache = await cacheDown(await event('GET', '/health', { as: null }), context());
    expect(noCache.statusCode).toBe(503);
    expect(bodyOf(noCache)).toMatchObject({
      checks: { database: { status: 'ok' }, cache: { status: 'error' } },
    });
  });

  test('writes work exactly once with the cache down (keys live in PostgreSQL, not the cache)', async () => {
    const caller = `nocache-${RUN}`;
    const key = randomUUID();
    const noCache = createApiHandler(dependencies({ cache: redisClient(1) }));
    const request = async () =>
      noCache(
        await event('POST', '/notes', { as: caller, body: { title: 'x' }, idempotencyKey: key }),
        context(),
      );
    const first = await request();
    const retry = await request();
    expect(first.statusCode).toBe(201);
    expect(retry.statusCode).toBe(201);
    expect(retry.body).toBe(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await countNotes(caller)).toBe(1);
  });

  test('an unexpected error is a 500 that leaks nothing internal', async () => {
    const broken = createApiHandler({
      ...dependencies(),
      database: {
        transaction: async () => Promise.reject(new TypeError('secret internals')),
      } as unknown as Database,
    });
    const response = await broken(await event('GET', '/notes'), context());
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('secret internals');
    expect(bodyOf<{ error: { code: string } }>(response).error.code).toBe('internal_error');
  });
});

describe('request ids', () => {
  test('uses the edge’s x-request-id, returns it, and tags every SQL statement with it', async () => {
    const statements: string[] = [];
    const original = Client.prototype.query;
    const spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (
      this: Client,
      ...args: unknown[]
    ) {
      if (typeof args[0] === 'string') statements.push(args[0]);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof Client.prototype.query);
    try {
      const response = await call('POST', '/notes', {
        body: { title: 'tagged' },
        headers: { 'x-request-id': 'edge-abc-123' },
      });
      expect(response.statusCode).toBe(201);
      expect(response.headers['x-request-id']).toBe('edge-abc-123');
    } finally {
      spy.mockRestore();
    }
    expect(statements.length).toBeGreaterThanOrEqual(4); // BEGIN, set_config, inserts, COMMIT
    for (const text of statements) expect(text.startsWith('/* request_id=edge-abc-123 */ ')).toBe(true);
  });

  test('replaces a malformed request id (it could break out of the SQL comment) with a fresh one', async () => {
    const response = await call('GET', '/notes', {
      headers: { 'x-request-id': 'x */ DROP TABLE notes; --' },
    });
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('writes structured JSON logs carrying the request id and the caller', async () => {
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const logged = createApiHandler(
        dependencies({ logger: new Logger({ logLevel: 'INFO', serviceName: 'shipshape-api' }) }),
      );
      await logged(await event('GET', '/notes', { headers: { 'x-request-id': 'log-req-00001' } }), context());
    } finally {
      write.mockRestore();
    }
    const entries = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const completed = entries.find((e) => e.message === 'request completed');
    expect(completed).toMatchObject({
      level: 'INFO',
      requestId: 'log-req-00001',
      callerId: ALICE,
      route: 'GET /notes',
      status: 200,
    });
  });
});

describe('metrics', () => {
  test('publishes EMF metrics per route: requests, latency and 4xx/5xx counts', async () => {
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const measured = createApiHandler(
        dependencies({ metrics: new Metrics({ namespace: 'ShipshapeTest', serviceName: 'shipshape-api' }) }),
      );
      await measured(await event('GET', '/notes/not-a-uuid'), context());
    } finally {
      write.mockRestore();
    }
    const emf = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l));
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      route: 'GET /notes/{id}',
      service: 'shipshape-api',
      Requests: 1,
      ClientError: 1,
    });
    expect(typeof emf[0].Latency).toBe('number');
    const directive = emf[0]._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe('ShipshapeTest');
    expect(directive.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'route']));
  });
});

describe('before-route hooks (seam for the edge origin check)', () => {
  test('a hook can refuse a request before routing and authentication', async () => {
    const guarded = createApiHandler(
      dependencies({
        beforeRoute: [
          (evt) =>
            evt.headers['x-origin-verify'] === 'ok'
              ? undefined
              : { statusCode: 403, headers: {}, body: '{}' },
        ],
      }),
    );
    expect((await guarded(await event('GET', '/notes'), context())).statusCode).toBe(403);
    const allowed = await guarded(
      await event('GET', '/notes', { headers: { 'x-origin-verify': 'ok' } }),
      context(),
    );
    expect(allowed.statusCode).toBe(200);
  });
});

describe('origin guard (requests must come through CloudFront)', () => {
  const SECRET_ID = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:origin-verify-AbCdEf';

  function guardedWith(send: (input: { VersionStage?: string }) => Promise<{ SecretString?: string }>) {
    const verifier = createOriginVerifier({
      secretId: SECRET_ID,
      secretsClient: { send: (command: { input: { VersionStage?: string } }) => send(command.input) },
    } as unknown as Parameters<typeof createOriginVerifier>[0]);
    return createApiHandler(dependencies({ beforeRoute: [originGuard(verifier)] }));
  }

  test('refuses a request without the header with 403 and the error body, before authentication', async () => {
    const guarded = guardedWith(async (input) => ({
      SecretString: input.VersionStage === 'AWSCURRENT' ? 'current-value' : undefined,
    }));
    const response = await guarded(await event('GET', '/health'), context());
    expect(response.statusCode).toBe(403);
    expect(bodyOf(response).error).toMatchObject({ code: 'forbidden' });
  });

  test('serves a request carrying the current value, and the previous one during a rotation', async () => {
    const guarded = guardedWith(async (input) => ({
      SecretString:
        input.VersionStage === 'AWSCURRENT'
          ? 'new-value'
          : input.VersionStage === 'AWSPREVIOUS'
            ? 'old-value'
            : undefined,
    }));
    for (const value of ['new-value', 'old-value']) {
      const response = await guarded(
        await event('GET', '/notes', { headers: { 'x-origin-verify': value } }),
        context(),
      );
      expect(response.statusCode).toBe(200);
    }
    const forged = await guarded(
      await event('GET', '/notes', { headers: { 'x-origin-verify': 'guess' } }),
      context(),
    );
    expect(forged.statusCode).toBe(403);
  });

  test('answers 503 (retryable), never lets the request through, when the secret cannot be read', async () => {
    const guarded = guardedWith(async () => {
      throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
    });
    const response = await guarded(
      await event('GET', '/notes', { headers: { 'x-origin-verify': 'anything' } }),
      context(),
    );
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
  });
});
