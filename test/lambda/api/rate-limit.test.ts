import { randomBytes } from 'node:crypto';
import { type CacheClient, createCacheClient } from '../../../lambda/runtime/cache';
import { RateLimiter } from '../../../lambda/api/rate-limit';

const REDIS_URL = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
const PREFIX = `shipshape-test:rate:${randomBytes(4).toString('hex')}:`;

let client: CacheClient;

beforeAll(async () => {
  client = createCacheClient({
    host: REDIS_URL.hostname,
    port: Number(REDIS_URL.port || 6379),
    tls: false,
    connectTimeoutMs: 2000,
    commandTimeoutMs: 2000,
  });
  await client.connect();
});

afterAll(async () => {
  for await (const keys of client.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 100 })) {
    if (keys.length > 0) await client.del(keys);
  }
  client.destroy();
});

describe('per-caller token bucket in Redis', () => {
  test('allows the configured burst, then refuses with a Retry-After', async () => {
    const limiter = new RateLimiter(client, PREFIX, 3);
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.take('caller-a'));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    // 3 per minute refills one token every 20 s.
    expect(decisions[3].retryAfterSeconds).toBeGreaterThanOrEqual(19);
    expect(decisions[3].retryAfterSeconds).toBeLessThanOrEqual(20);
  });

  test('keeps one bucket per caller', async () => {
    const limiter = new RateLimiter(client, PREFIX, 1);
    expect((await limiter.take('caller-b')).allowed).toBe(true);
    expect((await limiter.take('caller-b')).allowed).toBe(false);
    expect((await limiter.take('caller-c')).allowed).toBe(true);
  });

  test('concurrent requests never take more tokens than the bucket holds', async () => {
    const limiter = new RateLimiter(client, PREFIX, 5);
    const decisions = await Promise.all(Array.from({ length: 20 }, () => limiter.take('caller-d')));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
  });

  test('refills over time (a full bucket after an idle period)', async () => {
    const limiter = new RateLimiter(client, PREFIX, 60_000); // one token per millisecond
    for (let i = 0; i < 3; i++) await limiter.take('caller-e');
    // Pretend the last request was long ago: the bucket is full again.
    await client.hSet(`${PREFIX}caller-e`, 'ts', '0');
    const decision = await limiter.take('caller-e');
    expect(decision.remaining).toBe(60_000 - 1);
  });

  test('the bucket key expires once it would be full again', async () => {
    const limiter = new RateLimiter(client, PREFIX, 60);
    await limiter.take('caller-f');
    const ttl = await client.pTTL(`${PREFIX}caller-f`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(61_000);
  });
});
