import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import {
  createOriginVerifier,
  ORIGIN_VERIFY_HEADER,
  type OriginVerifier,
  OriginVerifyUnavailableError,
} from '../../../lambda/shared/origin-verify';
import { FakeSecret } from '../../helpers/fake-secret';

const SECRET_ID = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:origin-verify-AbCdEf';
const OLD = 'oldValue0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV';
const NEW = 'newValue0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV';

describe('createOriginVerifier', () => {
  let secret: FakeSecret;
  let clock: number;
  let verifier: OriginVerifier;
  const warn = jest.fn();

  beforeEach(() => {
    secret = new FakeSecret(SECRET_ID, OLD);
    clock = 1_000_000;
    warn.mockReset();
    verifier = createOriginVerifier({
      secretId: SECRET_ID,
      secretsClient: secret.client,
      cacheTtl: 60_000,
      minRefreshInterval: 5_000,
      now: () => clock,
      logger: { warn },
    });
  });

  afterEach(() => secret.mock.restore());

  const getCalls = () => secret.mock.commandCalls(GetSecretValueCommand).length;

  test('rejects a request without the header, with an empty one, or with no headers at all', async () => {
    await expect(verifier.verify({})).resolves.toBe(false);
    await expect(verifier.verify({ [ORIGIN_VERIFY_HEADER]: '' })).resolves.toBe(false);
    await expect(verifier.verify(undefined)).resolves.toBe(false);
    await expect(verifier.verify({ 'x-other': OLD })).resolves.toBe(false);
  });

  test('accepts the current value, whatever the case of the header name', async () => {
    await expect(verifier.verify({ [ORIGIN_VERIFY_HEADER]: OLD })).resolves.toBe(true);
    await expect(verifier.verify({ 'X-Origin-Verify': OLD })).resolves.toBe(true);
  });

  test('rejects a random value, a prefix of the value and the value with a suffix', async () => {
    for (const forged of ['random-value', OLD.slice(0, 10), `${OLD}x`, OLD.toLowerCase()]) {
      await expect(verifier.verify({ [ORIGIN_VERIFY_HEADER]: forged })).resolves.toBe(false);
    }
  });

  test('reads each version stage once and serves from the cache until the TTL', async () => {
    await verifier.verify({ [ORIGIN_VERIFY_HEADER]: OLD });
    expect(getCalls()).toBe(3);
    expect(
      secret.mock
        .commandCalls(GetSecretValueCommand)
        .map((c) => c.args[0].input.VersionStage)
        .sort(),
    ).toEqual(['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']);
    clock += 59_000;
    await verifier.verify({ [ORIGIN_VERIFY_HEADER]: OLD });
    expect(getCalls()).toBe(3);
    clock += 2_000;
    await verifier.verify({ [ORIGIN_VERIFY_HEADER]: OLD });
    expect(getCalls()).toBe(6);
  });

  test('forged values do not trigger more than one re-read per minimum refresh interval', async () => {
    await verifier.verify({ [ORIGIN_VERIFY_HEADER]: OLD });
    for (let i = 0; i < 20; i++) await verifier.verify({ [ORIGIN_VERIFY_HEADER]: `forged-${i}` });
    expect(getCalls()).toBe(3);
    clock += 5_000;
    await verifier.verify({ [ORIGIN_VERIFY_HEADER]: 'forged-again' });
    expect(getCalls()).toBe(6);
  });

  test('across a rotation, old and new values are both accepted during the overlap and a random one never', async () => {
    const headers = (v: string) => ({ [ORIGIN_VERIFY_HEADER]: v });
    await expect(verifier.verify(headers(OLD))).resolves.toBe(true);

    // createSecret: the new value is AWSPENDING; setSecret: CloudFront starts sending it.
    const token = secret.startRotation();
    await secret.putPending(token, NEW);
    clock += 5_000; // an edge switched over after the minimum refresh interval
    await expect(verifier.verify(headers(NEW))).resolves.toBe(true);
    await expect(verifier.verify(headers(OLD))).resolves.toBe(true);
    await expect(verifier.verify(headers('random-value'))).resolves.toBe(false);

    // finishSecret: NEW is AWSCURRENT, OLD is AWSPREVIOUS; the last edges still send OLD.
    await secret.promote(token);
    clock += 61_000;
    await expect(verifier.verify(headers(NEW))).resolves.toBe(true);
    await expect(verifier.verify(headers(OLD))).resolves.toBe(true);
    await expect(verifier.verify(headers('random-value'))).resolves.toBe(false);
    expect(secret.value('AWSPREVIOUS')).toBe(OLD);
  });

  test('a value two rotations old is rejected', async () => {
    const third = 'thirdValue';
    for (const value of [NEW, third]) {
      const token = secret.startRotation();
      await secret.putPending(token, value);
      await secret.promote(token);
    }
    await expect(verifier.verify({ [ORIGIN_VERIFY_HEADER]: third })).resolves.toBe(true);
    await expect(verifier.verify({ [ORIGIN_VERIFY_HEADER]: NEW })).resolves.toBe(true);
    await expect(verifier.verify({ [ORIGIN_VERIFY_HEADER]: OLD })).resolves.toBe(false);
  });

  test('keeps the last known values when Secrets Manager fails, and logs a warning without the value', async () => {
    await verifier.verify({ [ORIGIN_VERIFY_HEADER]: OLD });
    secret.mock
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('timeout'), { name: 'TimeoutError' }));
    clock += 61_000;
    await expect(verifier.verify({ [ORIGIN_VERIFY_HEADER]: OLD })).resolves.toBe(true);
    expect(warn).toHaveBeenCalledWith(
      'origin-verify secret refresh failed; keeping the last known values',
      expect.objectContaining({ error: 'TimeoutError' }),
    );
    expect(JSON.stringify(warn.mock.calls)).not.toContain(OLD);
  });

  test('throws a retryable error when the secret was never readable', async () => {
    const failing = new SecretsManagerClient({ region: 'eu-west-1' });
    const mock = mockClient(failing);
    mock
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const v = createOriginVerifier({ secretId: SECRET_ID, secretsClient: failing });
    await expect(v.verify({ [ORIGIN_VERIFY_HEADER]: OLD })).rejects.toBeInstanceOf(
      OriginVerifyUnavailableError,
    );
    mock.restore();
  });

  test('concurrent requests share one read', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => verifier.verify({ [ORIGIN_VERIFY_HEADER]: OLD })),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(getCalls()).toBe(3);
  });
});
