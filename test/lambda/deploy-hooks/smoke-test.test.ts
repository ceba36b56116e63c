import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CodeDeployClient, PutLifecycleEventHookExecutionStatusCommand } from '@aws-sdk/client-codedeploy';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createHandler } from '../../../lambda/deploy-hooks/smoke-test';
import type { SmokeOutcome } from '../../../lambda/deploy-hooks/smoke-test/smoke';

const codedeploy = mockClient(CodeDeployClient);
const secrets = mockClient(SecretsManagerClient);
const EVENT = { DeploymentId: 'd-SMOKE1234', LifecycleEventHookExecutionId: 'exec-2' };
const TOKEN = 'access-token-of-the-smoke-user';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/**
 * A fake front door + Cognito on 127.0.0.1: a small notes API with idempotency keys, whose
 * behaviour each test can break.
 */
class FakeApi {
  readonly requests: Recorded[] = [];
  healthStatus = 200;
  idempotent = true;
  readStatus = 200;
  signInStatus = 200;
  /** Reads and writes never answer (a front door stuck behind a slow dependency). */
  stallWrites = false;
  private server!: Server;
  private readonly notes = new Map<string, { id: string; title: string }>();
  private readonly byKey = new Map<string, string>();
  private counter = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const url = req.url ?? '';
    this.requests.push({ method: req.method ?? '', url, headers: req.headers, body });
    const send = (status: number, payload?: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    if (url === '/cognito/') {
      const input = JSON.parse(body) as { AuthParameters: { USERNAME: string; PASSWORD: string } };
      const ok =
        input.AuthParameters.USERNAME === 'smoke@example.com' && input.AuthParameters.PASSWORD === 's3cret';
      if (this.signInStatus !== 200 || !ok) return send(400, { __type: 'NotAuthorizedException' });
      return send(200, { AuthenticationResult: { AccessToken: TOKEN } });
    }
    if (url === '/health')
      return send(this.healthStatus, { status: this.healthStatus === 200 ? 'ok' : 'degraded' });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { message: 'unauthorized' });
    if (req.method === 'POST' && url === '/notes') {
      if (this.stallWrites) return; // never answers
      const key = String(req.headers['idempotency-key'] ?? '');
      const existing = this.byKey.get(key);
      if (existing && this.idempotent) return send(201, this.notes.get(existing));
      const note = { id: `note-${++this.counter}`, title: (JSON.parse(body) as { title: string }).title };
      this.notes.set(note.id, note);
      this.byKey.set(key, note.id);
      return send(201, note);
    }
    const match = /^\/notes\/(.+)$/.exec(url);
    if (match && req.method === 'GET') {
      const note = this.notes.get(decodeURIComponent(match[1]));
      return note && this.readStatus === 200
        ? send(200, note)
        : send(this.readStatus === 200 ? 404 : this.readStatus);
    }
    if (match && req.method === 'DELETE') {
      this.notes.delete(decodeURIComponent(match[1]));
      return send(204);
    }
    return send(404, { message: 'no route' });
  }
}

describe('smoke test (AfterAllowTraffic)', () => {
  let api: FakeApi;
  let base: string;
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });

  beforeEach(async () => {
    codedeploy.reset();
    secrets.reset();
    codedeploy.on(PutLifecycleEventHookExecutionStatusCommand).resolves({});
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 's3cret' });
    api = new FakeApi();
    base = await api.start();
  });
  afterEach(async () => {
    await api.stop();
  });

  function run(
    remainingMs: () => number = () => 120_000,
    overrides: { requestTimeoutMs?: number; reportReserveMs?: number } = {},
  ): Promise<SmokeOutcome> {
    const handler = createHandler({
      reportReserveMs: overrides.reportReserveMs,
      logger,
      settings: {
        apiUrl: `${base}/`,
        username: 'smoke@example.com',
        passwordSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:smoke-AbCdEf',
        userPoolClientId: 'client-123',
        cognitoEndpoint: `${base}/cognito/`,
        requestTimeoutMs: overrides.requestTimeoutMs ?? 2_000,
      },
    });
    return handler(EVENT, { awsRequestId: 'req', getRemainingTimeInMillis: remainingMs });
  }

  function expectReported(status: 'Succeeded' | 'Failed') {
    expect(codedeploy).toHaveReceivedCommandTimes(PutLifecycleEventHookExecutionStatusCommand, 1);
    expect(codedeploy).toHaveReceivedCommandWith(PutLifecycleEventHookExecutionStatusCommand, {
      deploymentId: EVENT.DeploymentId,
      status,
    });
  }

  test('health, sign-in and an idempotent write/read round-trip pass and report Succeeded', async () => {
    const outcome = await run();
    expect(outcome).toEqual(expect.objectContaining({ verdict: 'Succeeded', step: 'done' }));
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /health',
      'POST /cognito/',
      'POST /notes',
      'POST /notes',
      'GET /notes/note-1',
      'DELETE /notes/note-1',
    ]);
    const signIn = api.requests[1];
    expect(signIn.headers['x-amz-target']).toBe('AWSCognitoIdentityProviderService.InitiateAuth');
    expect(JSON.parse(signIn.body)).toEqual({
      AuthFlow: 'USER_PASSWORD_AUTH',
      ClientId: 'client-123',
      AuthParameters: { USERNAME: 'smoke@example.com', PASSWORD: 's3cret' },
    });
    const [first, replay] = [api.requests[2], api.requests[3]];
    expect(first.headers['idempotency-key']).toMatch(/^smoke-[0-9a-f-]{36}$/);
    expect(replay.headers['idempotency-key']).toBe(first.headers['idempotency-key']);
    expectReported('Succeeded');
  });

  test('an unhealthy front door reports Failed at the health step', async () => {
    api.healthStatus = 503;
    const outcome = await run();
    expect(outcome).toMatchObject({ verdict: 'Failed', step: 'health' });
    expect(outcome.reason).toMatch(/expected 200, got 503/);
    expectReported('Failed');
  });

  test('a replayed Idempotency-Key that creates a second note reports Failed', async () => {
    api.idempotent = false;
    const outcome = await run();
    expect(outcome).toMatchObject({ verdict: 'Failed', step: 'idempotent replay' });
    expect(outcome.reason).toMatch(/created a second note \(note-2 besides note-1\)/);
    expectReported('Failed');
  });

  test('a note that cannot be read back reports Failed', async () => {
    api.readStatus = 500;
    const outcome = await run();
    expect(outcome).toMatchObject({ verdict: 'Failed', step: 'read' });
    expectReported('Failed');
  });

  test('a smoke user that cannot sign in reports Failed', async () => {
    api.signInStatus = 400;
    const outcome = await run();
    expect(outcome).toMatchObject({ verdict: 'Failed', step: 'sign-in' });
    expectReported('Failed');
  });

  test('a front door that does not answer reports Failed instead of hanging', async () => {
    await api.stop();
    api = new FakeApi();
    base = 'http://127.0.0.1:9'; // discard port: connection refused
    await api.start();
    const outcome = await run();
    expect(outcome).toMatchObject({ verdict: 'Failed', step: 'health' });
    expect(outcome.reason).toMatch(/did not answer/);
    expectReported('Failed');
  });

  test('a missing setting reports Failed at once, naming the variable', async () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_REGION = 'eu-west-1';
      delete process.env.API_URL;
      const handler = createHandler({ logger });
      const outcome = await handler(EVENT, { awsRequestId: 'r', getRemainingTimeInMillis: () => 120_000 });
      expect(outcome).toMatchObject({ verdict: 'Failed', step: 'settings' });
      expect(outcome.reason).toMatch(/smoke test is misconfigured: environment variable API_URL is not set/);
      expect(api.requests).toEqual([]);
      expectReported('Failed');
    } finally {
      process.env = saved;
    }
  });

  test('a front door that stalls past the time budget reports Failed before the Lambda timeout', async () => {
    api.stallWrites = true;
    const deadline = Date.now() + 3_000; // a 3-second Lambda timeout, 1 second kept to report
    const remaining = () => deadline - Date.now();
    let remainingAtReport: number | undefined;
    codedeploy.on(PutLifecycleEventHookExecutionStatusCommand).callsFake(() => {
      remainingAtReport = remaining();
      return {};
    });
    // Each request may take 60 s: only the total budget stops the hook.
    const outcome = await run(remaining, { requestTimeoutMs: 60_000, reportReserveMs: 1_000 });
    expect(outcome).toMatchObject({ verdict: 'Failed', step: 'budget' });
    expect(outcome.reason).toMatch(/smoke test stopped: its time budget of \d+ ms .* is spent/);
    expect(remainingAtReport).toBeGreaterThan(0);
    expectReported('Failed');
  });
});
