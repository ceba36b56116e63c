/**
 * Exactly-once writes under faults: each write is stopped at every SQL statement it issues (the
 * connection drops before it, or after it — for COMMIT: committed, and the function never
 * learns it), stalled past the function's timeout, raced by concurrent duplicates, and run with
 * the cache down. After every fault the client retries with the same key until it gets an
 * answer that is not 5xx, and the test proves: at most one note and one outbox job per key,
 * and every answer after the first success is that first response.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { createApiHandler } from '../../../lambda/api/app';
import { withTimeout } from '../../../lambda/runtime/timeout';
import type { ApiResponse } from '../../../lambda/runtime/http';
import type { TestDatabase } from '../../helpers/postgres';
import { type Fault, faultyPool } from './faulty-pool';
import {
  appRolePool,
  bodyOf,
  context,
  createNote,
  dependencies,
  event,
  type Handler,
  type NoteBody,
  redisClient,
  RUN,
  startApi,
  stopApi,
} from './harness';

let db: TestDatabase;
let faulty: ReturnType<typeof faultyPool>;
let handle: Handler;

beforeAll(async () => {
  ({ db } = await startApi('idem_faults'));
  faulty = faultyPool(appRolePool({ max: 6 }));
  handle = createApiHandler(dependencies({ pool: faulty.pool as Pool }));
});

afterAll(stopApi);

/** Notes, their outbox jobs and idempotency keys of one caller, as the superuser sees them. */
async function effects(caller: string) {
  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*)::int FROM notes WHERE owner_id = $1) AS notes,
            (SELECT count(*)::int FROM outbox WHERE payload->>'ownerId' = $1) AS jobs,
            (SELECT count(*)::int FROM idempotency_keys WHERE caller_id = $1) AS keys,
            (SELECT max(version) FROM notes WHERE owner_id = $1) AS version`,
    [caller],
  );
  return rows[0] as { notes: number; jobs: number; keys: number; version: number | null };
}

interface Write {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

const post = (title: string): Write => ({ method: 'POST', path: '/notes', body: { title, body: 'b' } });

/** Sends `write` with `key` until it is answered without a 5xx (a client's retry loop). */
async function retryUntilAnswered(caller: string, write: Write, key: string): Promise<ApiResponse[]> {
  const answers: ApiResponse[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const response = await handle(
      await event(write.method, write.path, { as: caller, body: write.body, idempotencyKey: key }),
      context(),
    );
    answers.push(response);
    if (response.statusCode < 500 && response.statusCode !== 409) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return answers;
}

/**
 * The statements one clean run of `write` issues, so the faults can hit each in turn (the
 * second run's: the first of a container also prunes expired keys, in a transaction of its own).
 */
async function statementsOf(caller: string, write: () => Write): Promise<string[]> {
  for (let run = 0; run < 2; run++) {
    const { method, path, body } = write();
    const response = await handle(
      await event(method, path, { as: caller, body, idempotencyKey: randomUUID() }),
      context(),
    );
    expect(response.statusCode).toBeLessThan(300);
  }
  return [...faulty.statements];
}

/** Runs `write` with `fault` armed, then retries; checks exactly-once and the replays. */
async function faultThenRetry(caller: string, write: Write, fault: Fault) {
  const key = randomUUID();
  faulty.arm(fault);
  const first = await handle(
    await event(write.method, write.path, { as: caller, body: write.body, idempotencyKey: key }),
    context(),
  );
  // Nothing a client sent caused this: a fault is a 503 (retry) or the write went through.
  expect([200, 201, 204, 503]).toContain(first.statusCode);
  const retries = await retryUntilAnswered(caller, write, key);
  const answers = [first, ...retries];
  const successes = answers.filter((r) => r.statusCode < 300);
  expect(successes.length).toBeGreaterThanOrEqual(1);
  // Every success after the first is its replay, byte for byte.
  for (const later of successes.slice(1)) {
    expect(later.statusCode).toBe(successes[0].statusCode);
    expect(later.body).toBe(successes[0].body);
    expect(later.headers['idempotent-replayed']).toBe('true');
  }
  expect(answers.every((r) => (r.statusCode < 500 ? r.statusCode < 300 : r.statusCode === 503))).toBe(true);
  return { first, successes };
}

let steps: string[];
beforeAll(async () => {
  steps = await statementsOf(`probe-${RUN}`, () => post('probe'));
});

describe('POST /notes stopped at every statement', () => {
  test('a create issues the key claim, the writes and the key completion in one transaction', () => {
    expect(steps[0]).toBe('BEGIN');
    expect(steps[2]).toMatch(/^INSERT INTO idempotency_keys/);
    expect(steps.some((s) => s.startsWith('INSERT INTO outbox'))).toBe(true);
    expect(steps[steps.length - 2]).toMatch(/^UPDATE idempotency_keys/);
    expect(steps[steps.length - 1]).toBe('COMMIT');
  });

  for (const mode of ['before', 'after'] as const) {
    test(`connection dropped ${mode} each statement: one note, one job, retries replay`, async () => {
      for (let at = 0; at < steps.length; at++) {
        const caller = `fault-${mode}-${at}-${RUN}`;
        const { first } = await faultThenRetry(caller, post(`t${at}`), { at, mode });
        // Dropped after COMMIT: committed, but the function never heard; the retry replays it.
        if (mode === 'after' && at === steps.length - 1) expect(first.statusCode).toBe(503);
        expect(await effects(caller)).toMatchObject({ notes: 1, jobs: 1, keys: 1 });
      }
    });
  }
});

describe('PATCH /notes/{id} stopped at every statement', () => {
  test('applies the change once: the version moves by exactly one, retries replay', async () => {
    const caller = `patch-${RUN}`;
    const note = await createNote(caller, 'patched');
    const patch = (version: number): Write => ({
      method: 'PATCH',
      path: `/notes/${note.id}`,
      body: { title: `v${version + 1}`, version },
    });
    let version = 1;
    const patchSteps = await statementsOf(caller, () => patch(version++));
    version = 3;
    for (const mode of ['before', 'after'] as const) {
      for (let at = 0; at < patchSteps.length; at++) {
        const { successes } = await faultThenRetry(caller, patch(version), { at, mode });
        expect(bodyOf<NoteBody>(successes[0]).version).toBe(version + 1);
        version += 1;
        expect((await effects(caller)).version).toBe(version);
      }
    }
  });
});

describe('stalls, duplicates and the cache', () => {
  test('the function times out mid-write: a duplicate meanwhile gets 409, the retry after gets the first response', async () => {
    const caller = `stall-${RUN}`;
    const key = randomUUID();
    const write = post('slow');
    const send = async () =>
      handle(await event('POST', '/notes', { as: caller, body: write.body, idempotencyKey: key }), context());
    // Stalled just before COMMIT, longer than the "function timeout" the client sees.
    faulty.arm({ at: steps.length - 1, mode: 'stall', stallMs: 1500 });
    const stalled = send();
    await expect(withTimeout(stalled, 300, 'the function')).rejects.toThrow(/timed out/);
    const duplicate = await send();
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.headers['retry-after']).toBe('1');
    expect(bodyOf<{ error: { code: string } }>(duplicate).error.code).toBe('idempotency_in_progress');
    const finished = await stalled; // the transaction went on in the background and committed
    const retry = await send();
    expect(retry.statusCode).toBe(201);
    expect(retry.body).toBe(finished.body);
    expect(await effects(caller)).toMatchObject({ notes: 1, jobs: 1, keys: 1 });
  });

  test('concurrent duplicates: one note and one job; every success is the same response', async () => {
    const caller = `race-${RUN}`;
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 10 }, async () =>
        handle(
          await event('POST', '/notes', { as: caller, body: { title: 'dup' }, idempotencyKey: key }),
          context(),
        ),
      ),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const bodies = new Set(responses.filter((r) => r.statusCode === 201).map((r) => r.body));
    expect(bodies.size).toBe(1);
    expect(await effects(caller)).toMatchObject({ notes: 1, jobs: 1, keys: 1 });
  });

  test('cache down, connection dropped after COMMIT: the retry replays from PostgreSQL', async () => {
    const caller = `nocache-${RUN}`;
    const noCache = createApiHandler(dependencies({ pool: faulty.pool as Pool, cache: redisClient(1) }));
    const key = randomUUID();
    const send = async () =>
      noCache(
        await event('POST', '/notes', { as: caller, body: { title: 'x' }, idempotencyKey: key }),
        context(),
      );
    faulty.arm({ at: steps.length - 1, mode: 'after' }); // COMMIT
    expect((await send()).statusCode).toBe(503);
    const retry = await send();
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await effects(caller)).toMatchObject({ notes: 1, jobs: 1, keys: 1 });
  });
});

describe('scope and reuse', () => {
  test('`/notes/` after `/notes`, and an upper-case id, are the same write', async () => {
    const caller = `scope-${RUN}`;
    const key = randomUUID();
    const send = async (path: string, body: unknown) =>
      handle(
        await event(path.startsWith('/notes/') && path.length > 8 ? 'PATCH' : 'POST', path, {
          as: caller,
          body,
          idempotencyKey: key,
        }),
        context(),
      );
    const created = await send('/notes', { title: 'one' });
    const again = await send('/notes/', { title: 'one' });
    expect(again.body).toBe(created.body);
    const note = bodyOf<NoteBody>(created);
    const patchKey = randomUUID();
    const patch = async (id: string) =>
      handle(
        await event('PATCH', `/notes/${id}`, {
          as: caller,
          body: { title: 'two', version: 1 },
          idempotencyKey: patchKey,
        }),
        context(),
      );
    const lower = await patch(note.id);
    const upper = await patch(note.id.toUpperCase());
    expect(lower.statusCode).toBe(200);
    expect(upper.statusCode).toBe(200);
    expect(upper.body).toBe(lower.body);
    expect(upper.headers['idempotent-replayed']).toBe('true');
    expect(await effects(caller)).toMatchObject({ notes: 1, jobs: 1, keys: 2, version: 2 });
  });

  test('the same key with a different request is refused with 422 and a clear message; nothing written', async () => {
    const caller = `reuse-${RUN}`;
    const key = randomUUID();
    await retryUntilAnswered(caller, post('first'), key);
    const [reused] = await retryUntilAnswered(caller, post('second'), key);
    expect(reused.statusCode).toBe(422);
    expect(bodyOf<{ error: { message: string } }>(reused).error.message).toMatch(/different request/);
    expect(await effects(caller)).toMatchObject({ notes: 1, jobs: 1, keys: 1 });
  });

  test('a key whose record expired is claimed afresh (expiry is the only way a key writes twice)', async () => {
    const caller = `expiry-${RUN}`;
    const key = randomUUID();
    await retryUntilAnswered(caller, post('old'), key);
    await db.pool.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day' WHERE caller_id = $1",
      [caller],
    );
    const [fresh] = await retryUntilAnswered(caller, post('new'), key);
    expect(fresh.statusCode).toBe(201);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
    expect(await effects(caller)).toMatchObject({ notes: 2, keys: 1 });
  });
});
