import type { Context } from 'aws-lambda';
import { createOriginVerifier, ORIGIN_VERIFY_HEADER } from '../../../lambda/shared/origin-verify';
import { FakeCloudFront } from '../../helpers/fake-cloudfront';
import { FakeSecret } from '../../helpers/fake-secret';

const SECRET_ID = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:origin-verify-AbCdEf';
const DISTRIBUTION_ID = 'E2EXAMPLE123';
const OLD = 'initialValue0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP';
const context = { awsRequestId: 'req-1', functionName: 'rotation' } as unknown as Context;

type Handler = (event: unknown, context: Context) => Promise<void>;
type Step = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

describe('origin-verify rotation function', () => {
  let cloudfront: FakeCloudFront;
  let secret: FakeSecret;
  let handler: Handler;
  let logs: string[];
  let spies: jest.SpyInstance[];
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    cloudfront = new FakeCloudFront(
      DISTRIBUTION_ID,
      FakeCloudFront.configWithHeader(ORIGIN_VERIFY_HEADER, OLD),
    );
    const endpoint = await cloudfront.start();
    Object.assign(process.env, {
      DISTRIBUTION_ID,
      AWS_ENDPOINT_URL_CLOUDFRONT: endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      AWS_REGION: 'eu-west-1',
    });
    // Loaded after the environment is set: the module reads it (and creates its clients) at load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ({ handler } = require('../../../lambda/origin-verify-rotation/index') as { handler: Handler });
  });

  afterAll(async () => {
    await cloudfront.stop();
    process.env = savedEnv;
  });

  beforeEach(() => {
    secret = new FakeSecret(SECRET_ID, OLD, true);
    cloudfront.config = FakeCloudFront.configWithHeader(ORIGIN_VERIFY_HEADER, OLD);
    cloudfront.requests.length = 0;
    logs = [];
    spies = [process.stdout, process.stderr].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logs.push(String(chunk));
        return true;
      }),
    );
  });

  afterEach(() => {
    for (const spy of spies) spy.mockRestore();
    secret.mock.restore();
  });

  const step = async (Step: Step, token: string) =>
    handler({ SecretId: SECRET_ID, ClientRequestToken: token, Step }, context);

  test('the four steps move a new value into CloudFront and then make it current', async () => {
    const token = secret.startRotation();

    await step('createSecret', token);
    const pending = secret.value('AWSPENDING')!;
    expect(pending).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(pending).not.toBe(OLD);
    expect(cloudfront.headerValue(ORIGIN_VERIFY_HEADER)).toBe(OLD);

    await step('setSecret', token);
    expect(cloudfront.headerValue(ORIGIN_VERIFY_HEADER)).toBe(pending);
    const put = cloudfront.requests.find((r) => r.method === 'PUT')!;
    expect(put.headers['if-match']).toBe('E1');
    expect(put.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/cloudfront\/aws4_request/,
    );
    // Only the origin-verify value changed; every other setting went back as it was.
    expect(put.body).toBe(FakeCloudFront.configWithHeader(ORIGIN_VERIFY_HEADER, pending));
    expect(put.body).toContain('<HeaderValue>edge &amp; api</HeaderValue>');

    await step('testSecret', token);

    await step('finishSecret', token);
    expect(secret.value('AWSCURRENT')).toBe(pending);
    expect(secret.value('AWSPREVIOUS')).toBe(OLD);

    expect(logs.join('')).toContain('distribution updated with the pending value');
    expect(logs.join('')).not.toContain(pending);
    expect(logs.join('')).not.toContain(OLD);
  });

  test('during and after the rotation the API accepts the old and the new value, and nothing else', async () => {
    let clock = 0;
    const verifier = createOriginVerifier({
      secretId: SECRET_ID,
      secretsClient: secret.client,
      cacheTtl: 60_000,
      minRefreshInterval: 1_000,
      now: () => clock,
    });
    const accepts = (v: string) => verifier.verify({ [ORIGIN_VERIFY_HEADER]: v });
    const token = secret.startRotation();
    await step('createSecret', token);
    await step('setSecret', token);
    const sent = cloudfront.headerValue(ORIGIN_VERIFY_HEADER)!;
    clock += 1_000;
    expect([await accepts(sent), await accepts(OLD), await accepts('random')]).toEqual([true, true, false]);
    await step('testSecret', token);
    await step('finishSecret', token);
    clock += 60_000;
    expect([await accepts(sent), await accepts(OLD), await accepts('random')]).toEqual([true, true, false]);
  });

  test('every step is idempotent when Secrets Manager retries it', async () => {
    const token = secret.startRotation();
    await step('createSecret', token);
    const pending = secret.value('AWSPENDING');
    await step('createSecret', token);
    expect(secret.value('AWSPENDING')).toBe(pending);
    await step('setSecret', token);
    await step('setSecret', token);
    expect(cloudfront.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
    await step('testSecret', token);
    await step('finishSecret', token);
    await step('finishSecret', token);
    expect(secret.value('AWSCURRENT')).toBe(pending);
  });

  test('setSecret retries when the distribution changed between read and write', async () => {
    const token = secret.startRotation();
    await step('createSecret', token);
    cloudfront.conflictsToInject = 1;
    await step('setSecret', token);
    expect(cloudfront.headerValue(ORIGIN_VERIFY_HEADER)).toBe(secret.value('AWSPENDING'));
    expect(cloudfront.requests.filter((r) => r.method === 'PUT')).toHaveLength(2);
  });

  test('testSecret fails while the distribution does not send the pending value', async () => {
    const token = secret.startRotation();
    await step('createSecret', token);
    await expect(step('testSecret', token)).rejects.toThrow(
      `distribution ${DISTRIBUTION_ID} does not send the pending value in '${ORIGIN_VERIFY_HEADER}'`,
    );
    expect(secret.value('AWSCURRENT')).toBe(OLD);
  });

  test('setSecret fails when the distribution has no origin-verify header to rotate', async () => {
    cloudfront.config = FakeCloudFront.configWithHeader('x-something-else', 'v');
    const token = secret.startRotation();
    await step('createSecret', token);
    await expect(step('setSecret', token)).rejects.toThrow(
      `distribution ${DISTRIBUTION_ID} has no origin custom header '${ORIGIN_VERIFY_HEADER}'`,
    );
  });

  test('refuses a secret without rotation enabled, an unknown token and a token that is not pending', async () => {
    const token = secret.startRotation();
    secret.rotationEnabled = false;
    await expect(step('createSecret', token)).rejects.toThrow('does not have rotation enabled');
    secret.rotationEnabled = true;
    await expect(step('createSecret', 'unknown-token')).rejects.toThrow(
      'has no version unknown-token to rotate to',
    );
    const previous = Object.entries(secret.stages()).find(([, s]) => s.includes('AWSCURRENT'))![0];
    await step('createSecret', token);
    await step('setSecret', token);
    await step('testSecret', token);
    await step('finishSecret', token);
    await expect(step('setSecret', previous)).rejects.toThrow(
      `version ${previous} of secret ${SECRET_ID} is not AWSPENDING`,
    );
  });

  test('rejects an event that is not a rotation event', async () => {
    await expect(handler({ SecretId: SECRET_ID, Step: 'dropTables' }, context)).rejects.toThrow(
      'invalid rotation event',
    );
  });
});
