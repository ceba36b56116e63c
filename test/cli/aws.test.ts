import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListDeploymentsCommand } from '@aws-sdk/client-codedeploy';
import { createAwsClients, isCredentialError, statelessStackName } from '../../lib/cli/aws';

/**
 * A local HTTP endpoint that answers CodeDeploy (JSON protocol) calls from a script, reached
 * through AWS_ENDPOINT_URL exactly as a user would point the CLI at LocalStack.
 */
describe('AWS clients against a local endpoint (AWS_ENDPOINT_URL)', () => {
  let server: Server;
  let answers: Array<{ status: number; body: unknown }>;
  const requests: IncomingMessage[] = [];
  const saved = { ...process.env };

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req);
      req.resume();
      req.on('end', () => {
        const answer = answers.length > 1 ? answers.shift()! : answers[0];
        const body = answer.body as { __type?: string };
        res.writeHead(answer.status, {
          'content-type': 'application/x-amz-json-1.1',
          ...(body.__type ? { 'x-amzn-errortype': body.__type } : {}),
        });
        res.end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.AWS_ACCESS_KEY_ID = 'AKIATESTTESTTESTTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'test-secret';
    delete process.env.AWS_PROFILE;
  });
  afterAll(async () => {
    process.env = saved;
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    requests.length = 0;
  });

  const list = () =>
    createAwsClients({ region: 'eu-west-1' }).codeDeploy.send(
      new ListDeploymentsCommand({ applicationName: 'app', deploymentGroupName: 'group' }),
    );

  test('sends requests to AWS_ENDPOINT_URL (nothing overrides it)', async () => {
    answers = [{ status: 200, body: { deployments: ['d-1'] } }];
    await expect(list()).resolves.toMatchObject({ deployments: ['d-1'] });
    expect(requests).toHaveLength(1);
    expect(requests[0].headers['x-amz-target']).toBe('CodeDeploy_20141006.ListDeployments');
  });

  test('retries throttling with backoff until the call succeeds', async () => {
    const throttled = { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };
    answers = [throttled, throttled, { status: 200, body: { deployments: ['d-2'] } }];
    await expect(list()).resolves.toMatchObject({ deployments: ['d-2'] });
    expect(requests).toHaveLength(3);
  });

  test('expired credentials surface as a credential error, not retried', async () => {
    answers = [
      {
        status: 400,
        body: {
          __type: 'ExpiredTokenException',
          message: 'The security token included in the request is expired',
        },
      },
    ];
    const error = await list().catch((e: unknown) => e);
    expect(isCredentialError(error)).toBe(true);
    expect(requests).toHaveLength(1);
  });
});

describe('createAwsClients', () => {
  test('uses adaptive retries with 8 attempts, the given region and profile', async () => {
    const { lambda } = createAwsClients({ region: 'eu-central-1', profile: 'oncall' });
    expect(await lambda.config.region()).toBe('eu-central-1');
    expect(await lambda.config.maxAttempts()).toBe(8);
    expect(await lambda.config.retryStrategy()).toMatchObject({ mode: 'adaptive' });
    expect(lambda.config.profile).toBe('oncall');
  });
});

describe('isCredentialError', () => {
  test.each([
    'ExpiredToken',
    'ExpiredTokenException',
    'CredentialsProviderError',
    'UnrecognizedClientException',
  ])('%s is a credential error', (name) =>
    expect(isCredentialError(Object.assign(new Error('x'), { name }))).toBe(true),
  );
  test('an SSO session that expired is a credential error', () => {
    expect(isCredentialError(new Error('The SSO session token has expired. Run aws sso login'))).toBe(true);
    expect(
      isCredentialError(new Error('Token is expired. To refresh this SSO session run aws sso login')),
    ).toBe(true);
  });
  test('throttling and other errors are not', () => {
    expect(
      isCredentialError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })),
    ).toBe(false);
    expect(isCredentialError('ExpiredToken')).toBe(false);
  });
});

test('the stateless stack of an environment is <Stage>-Stateless', () => {
  expect(statelessStackName('staging')).toBe('Staging-Stateless');
  expect(statelessStackName('production')).toBe('Production-Stateless');
});
