/**
 * The gate's self-test: a synthetic `GET /health` invoked on the deployment's TARGET version
 * (by qualifier, never through the alias whose routing is being decided).
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { budgetSignal, type HookBudget } from '../../shared/lifecycle-hook';
import { ORIGIN_VERIFY_HEADER } from '../../shared/origin-verify-header';
import type { DeploymentTarget } from '../deployment-target';

/** What the self-test needs of the gate. */
export interface SelfTestDependencies {
  readonly lambda: LambdaClient;
  readonly secrets: SecretsManagerClient;
  readonly settings: {
    readonly originVerifySecretArn?: string;
    readonly selfTestTimeoutMs: number;
    readonly healthPath?: string;
  };
}

/** A synthetic HTTP API (payload 2.0) `GET /health` request. */
export function healthEvent(now: Date = new Date(), originVerify?: string, path = '/health') {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      'user-agent': 'shipshape-migration-gate',
      'x-shipshape-self-test': 'true',
      ...(originVerify === undefined ? {} : { [ORIGIN_VERIFY_HEADER]: originVerify }),
    },
    requestContext: {
      accountId: 'self-test',
      apiId: 'self-test',
      domainName: 'self-test.invalid',
      domainPrefix: 'self-test',
      http: {
        method: 'GET',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'shipshape-migration-gate',
      },
      requestId: `self-test-${now.getTime()}`,
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

/** Invokes the target version's `GET /health`; returns why it failed, or undefined when it passed. */
export async function invokeHealth(
  deps: SelfTestDependencies,
  target: DeploymentTarget,
  budget: HookBudget,
): Promise<string | undefined> {
  const signal = budgetSignal(budget, deps.settings.selfTestTimeoutMs);
  let originVerify: string | undefined;
  if (deps.settings.originVerifySecretArn) {
    const secret = await deps.secrets.send(
      new GetSecretValueCommand({ SecretId: deps.settings.originVerifySecretArn }),
      { abortSignal: signal },
    );
    originVerify = secret.SecretString;
  }
  // The version itself, by qualifier: never the alias, whose routing is what is being decided.
  const response = await deps.lambda.send(
    new InvokeCommand({
      FunctionName: target.functionName,
      Qualifier: target.targetVersion,
      Payload: Buffer.from(JSON.stringify(healthEvent(new Date(), originVerify, deps.settings.healthPath))),
    }),
    { abortSignal: signal },
  );
  const body = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
  if (response.FunctionError) return `the function raised ${response.FunctionError}: ${body.slice(0, 500)}`;
  let statusCode: unknown;
  try {
    statusCode = (JSON.parse(body) as { statusCode?: unknown }).statusCode;
  } catch {
    return `the response is not JSON: ${body.slice(0, 200)}`;
  }
  return statusCode === 200
    ? undefined
    : `GET ${deps.settings.healthPath ?? '/health'} answered ${String(statusCode)}: ${body.slice(0, 500)}`;
}
