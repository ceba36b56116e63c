import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpHealthCheck, lambdaAppSpec } from '../../lib/cli/deployments';
import type { ServiceOutputs } from '../../lib/cli/aws';

const outputs: ServiceOutputs = {
  stackName: 'Staging-Stateless',
  functionName: 'fn',
  aliasName: 'live',
  codeDeployApplication: 'app',
  deploymentGroupName: 'group',
  apiUrl: 'https://example.com',
  hooks: {},
};

describe('lambdaAppSpec', () => {
  test('writes version 0.0 and the alias resource CodeDeploy expects', () => {
    const content = lambdaAppSpec(outputs, '7', '6', {});
    expect(content).toBe(
      '{"version":0.0,"Resources":[{"live":{"Type":"AWS::Lambda::Function","Properties":{"Name":"fn","Alias":"live","CurrentVersion":"7","TargetVersion":"6"}}}]}',
    );
  });

  test('lists the traffic hooks so they run on a rollback too', () => {
    const spec = JSON.parse(
      lambdaAppSpec(outputs, '7', '6', { BeforeAllowTraffic: 'gate', AfterAllowTraffic: 'smoke' }),
    ) as {
      Hooks: unknown;
    };
    expect(spec.Hooks).toEqual([{ BeforeAllowTraffic: 'gate' }, { AfterAllowTraffic: 'smoke' }]);
  });
});

describe('httpHealthCheck against a local server', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok/health') res.writeHead(200).end('{"status":"ok"}');
      else if (req.url === '/slow/health') setTimeout(() => res.writeHead(200).end(), 2_000);
      else res.writeHead(503).end('{"status":"degraded"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('2xx is healthy', async () => {
    await expect(httpHealthCheck(`${url}/ok/health`, new AbortController().signal)).resolves.toEqual({
      healthy: true,
      detail: 'HTTP 200',
    });
  });

  test('5xx is unhealthy with the status', async () => {
    await expect(httpHealthCheck(`${url}/bad/health`, new AbortController().signal)).resolves.toEqual({
      healthy: false,
      detail: 'HTTP 503',
    });
  });

  test('no answer within the timeout is unhealthy, not a hang', async () => {
    await expect(httpHealthCheck(`${url}/slow/health`, new AbortController().signal, 50)).resolves.toEqual({
      healthy: false,
      detail: 'no answer within 50 ms',
    });
  });

  test('a refused connection is unhealthy', async () => {
    const result = await httpHealthCheck('http://127.0.0.1:1/health', new AbortController().signal);
    expect(result.healthy).toBe(false);
  });

  test('Ctrl-C aborts the check instead of reporting it unhealthy', async () => {
    const controller = new AbortController();
    const pending = httpHealthCheck(`${url}/slow/health`, controller.signal);
    controller.abort();
    await expect(pending).rejects.toThrow();
  });
});
