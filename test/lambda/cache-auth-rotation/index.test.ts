import type { Context } from 'aws-lambda';
import { cacheTokenTarget } from '../../../lambda/cache-auth-rotation/cache-token';
import { rotateSecret } from '../../../lambda/shared/secret-rotation';
import { FakeElastiCache } from '../../helpers/fake-elasticache';
import { FakeSecret } from '../../helpers/fake-secret';

const SECRET_ID = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:cache-auth-AbCdEf';
const GROUP = 'prod-cache-rg';
const OLD = 'initialToken0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP';
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

type Handler = (event: unknown, context: Context) => Promise<void>;
const context = (remainingMs = 600_000) =>
  ({
    awsRequestId: 'req-1',
    functionName: 'rotation',
    getRemainingTimeInMillis: () => remainingMs,
  }) as unknown as Context;
const quietLogger = { info: () => undefined, warn: () => undefined, appendKeys: () => undefined };

describe('cache AUTH token rotation', () => {
  let cache: FakeElastiCache;
  let secret: FakeSecret;
  let handler: Handler;
  const savedEnv = { ...process.env };
  let spies: jest.SpyInstance[];

  beforeAll(async () => {
    cache = new FakeElastiCache(GROUP, OLD);
    await cache.start();
    Object.assign(process.env, {
      REPLICATION_GROUP_ID: GROUP,
      CACHE_HOST: '127.0.0.1',
      CACHE_PORT: String(cache.port),
      CACHE_TLS: 'false',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      AWS_REGION: 'eu-west-1',
    });
    // Loaded after the environment is set: the module reads it at load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ handler } = require('../../../lambda/cache-auth-rotation/index') as { handler: Handler });
  });

  afterAll(async () => {
    await cache.stop();
    process.env = savedEnv;
  });

  beforeEach(() => {
    secret = new FakeSecret(SECRET_ID, cache.accepted().at(-1)!, true);
    cache.modifications.length = 0;
    cache.describesUntilApplied = 0;
    spies = [process.stdout, process.stderr].map((s) =>
      jest.spyOn(s, 'write').mockImplementation(() => true),
    );
  });

  afterEach(() => {
    for (const spy of spies) spy.mockRestore();
    secret.mock.restore();
  });

  async function rotateThroughHandler(): Promise<string> {
    const token = secret.startRotation();
    for (const Step of STEPS)
      await handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step }, context());
    secret.completeRotation();
    return token;
  }

  test('a full rotation makes the cache accept the new token and keeps the previous one working', async () => {
    const before = secret.value('AWSCURRENT')!;
    await rotateThroughHandler();
    const current = secret.value('AWSCURRENT')!;
    expect(current).not.toBe(before);
    expect(secret.value('AWSPREVIOUS')).toBe(before);
    // Functions that read the token before the rotation still connect; new ones use the new token.
    expect(await cache.accepts(current)).toBe(true);
    expect(await cache.accepts(before)).toBe(true);
    expect(await cache.accepts('not-a-token-of-this-cache-000000')).toBe(false);
    expect(cache.modifications).toEqual([{ AuthToken: current, AuthTokenUpdateStrategy: 'ROTATE' }]);
  });

  test('the next rotation retires the token from two rotations ago, never the previous one', async () => {
    const first = secret.value('AWSCURRENT')!;
    await rotateThroughHandler();
    const second = secret.value('AWSCURRENT')!;
    secret.mock.restore();
    secret = new FakeSecret(SECRET_ID, second, true);
    await rotateThroughHandler();
    const third = secret.value('AWSCURRENT')!;
    expect(await cache.accepts(third)).toBe(true);
    expect(await cache.accepts(second)).toBe(true);
    expect(await cache.accepts(first)).toBe(false);
  });

  test('a repeated setSecret (Secrets Manager retrying the step) does not rotate twice', async () => {
    const token = secret.startRotation();
    await handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'createSecret' }, context());
    await handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'setSecret' }, context());
    await handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'setSecret' }, context());
    expect(cache.modifications).toHaveLength(1);
    await handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'testSecret' }, context());
    await handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'finishSecret' }, context());
    secret.completeRotation();
  });

  test('setSecret refuses to modify a group that is not available, and changes nothing', async () => {
    const token = secret.startRotation();
    await handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'createSecret' }, context());
    const accepted = cache.accepted();
    cache.status = 'snapshotting';
    try {
      await expect(
        handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'setSecret' }, context()),
      ).rejects.toThrow(`replication group ${GROUP} is snapshotting, not available`);
    } finally {
      cache.status = 'available';
    }
    expect(cache.modifications).toHaveLength(0);
    expect(cache.accepted()).toEqual(accepted);
    // testSecret fails too: the cache does not know the pending token, so the rotation cannot finish.
    await expect(
      handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'testSecret' }, context()),
    ).rejects.toThrow('does not accept the pending token');
    expect(secret.value('AWSCURRENT')).toBe(accepted.at(-1));
  });

  test('out of time while the group modifies: the step fails, and its retry waits instead of rotating again', async () => {
    cache.describesUntilApplied = 3;
    const token = secret.startRotation();
    const deps = { secrets: secret.client, logger: quietLogger };
    const event = (Step: (typeof STEPS)[number]) => ({
      SecretId: SECRET_ID,
      ClientRequestToken: token,
      Step,
    });
    let remaining = 40_000;
    const slept: number[] = [];
    const target = () =>
      cacheTokenTarget({
        elasticache: cache.client,
        replicationGroupId: GROUP,
        probe: (password) => cache.accepts(password),
        logger: quietLogger,
        remainingMs: () => remaining,
        sleep: async (ms) => {
          slept.push(ms);
          remaining -= ms;
        },
      });
    await rotateSecret(event('createSecret'), deps, target());
    await expect(rotateSecret(event('setSecret'), deps, target())).rejects.toThrow(
      'still applying the new token',
    );
    expect(slept).toEqual([15_000, 15_000]);
    remaining = 600_000;
    await rotateSecret(event('setSecret'), deps, target());
    expect(cache.modifications).toHaveLength(1);
    await rotateSecret(event('testSecret'), deps, target());
    await rotateSecret(event('finishSecret'), deps, target());
    secret.completeRotation();
    expect(await cache.accepts(secret.value('AWSCURRENT')!)).toBe(true);
  });

  test('a missing setting fails the step at once, naming the setting', async () => {
    const saved = process.env.CACHE_HOST;
    delete process.env.CACHE_HOST;
    try {
      let isolated: Handler | undefined;
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        isolated = (require('../../../lambda/cache-auth-rotation/index') as { handler: Handler }).handler;
      });
      const token = secret.startRotation();
      await expect(
        isolated!({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'createSecret' }, context()),
      ).rejects.toThrow(/invalid settings: CACHE_HOST/);
    } finally {
      process.env.CACHE_HOST = saved;
    }
  });

  test('an event that is not a rotation step is refused', async () => {
    await expect(handler({ SecretId: SECRET_ID, Step: 'dropEverything' }, context())).rejects.toThrow(
      'invalid rotation event',
    );
  });
});
