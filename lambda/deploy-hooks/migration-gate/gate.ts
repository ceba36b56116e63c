/**
 * BeforeAllowTraffic: the migration gate. Before the new version receives any traffic it
 *  1. refuses contract migrations that are not yet safe (see contract-rule.ts),
 *  2. applies the pending migrations with `lib/migrations` — each in its own transaction with
 *     `lock_timeout` and `statement_timeout`, so a failure leaves no partial schema,
 *  3. invokes the NEW version with a synthetic `GET /health` (a self-test), and
 *  4. reports Succeeded or Failed to CodeDeploy. Failed stops the deployment while the old
 *     version still serves 100% of the traffic.
 *
 * It connects to the database instance directly (not through the RDS Proxy) as the master user:
 * migrations are DDL that take ACCESS EXCLUSIVE locks and hold a session-level advisory lock
 * across several transactions; the proxy pins such sessions anyway and is meant for the app's
 * short transactions with IAM-authenticated roles, which cannot own the schema.
 */
import {
  type CodeDeployClient,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
} from '@aws-sdk/client-codedeploy';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import {
  migrate,
  MigrationError,
  MigrationLockError,
  MigrationPlanError,
  migrationStatus,
} from '../../../lib/migrations';
import {
  CODEDEPLOY_CALL_TIMEOUT_MS,
  type HookVerdict,
  type LifecycleHookEvent,
  messageOf,
  reportHookStatus,
} from '../../shared/lifecycle-hook';
import { ORIGIN_VERIFY_HEADER } from '../../shared/origin-verify-header';
import { refusedContracts } from './contract-rule';

/** Settings the construct passes through the environment. */
export interface GateSettings {
  /**
   * Secrets Manager secret holding the master user (`username`, `password`, `host`, `port`, `dbname`).
   * @default - no database: the gate only self-tests the new version
   */
  readonly secretArn?: string;
  /** @default - `host` of the secret */
  readonly host?: string;
  /** @default - `port` of the secret, else 5432 */
  readonly port?: number;
  /** @default - `dbname` of the secret, else `postgres` */
  readonly database?: string;
  /** ARN of the new version (qualified), which the self-test invokes. */
  readonly targetVersionArn: string;
  /**
   * Secret whose current value CloudFront sends as `x-origin-verify`: the API refuses requests
   * without it, so the self-test sends it too.
   * @default - no origin check on the API: no header
   */
  readonly originVerifySecretArn?: string;
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly selfTestTimeoutMs: number;
  /** Liveness path of the API the self-test requests. @default '/health' */
  readonly healthPath?: string;
}

export interface GateDependencies {
  readonly codedeploy: CodeDeployClient;
  readonly lambda: LambdaClient;
  readonly secrets: SecretsManagerClient;
  readonly logger: Logger;
  readonly settings: GateSettings;
  /** TLS for the database connection; `false` only for a local test server. */
  readonly tls: ConnectionOptions | false;
  /** @default - the migrations bundled with the hook */
  readonly migrationsDir?: string;
  /** Milliseconds this invocation has left (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs: () => number;
}

/** What the gate decided, and why (also logged). */
export interface GateOutcome {
  readonly verdict: HookVerdict;
  /** `ok`, or the failure class: refused (a rule said no), retryable (try again later), fatal. */
  readonly classification: 'ok' | 'refused' | 'retryable' | 'fatal';
  readonly reason: string;
  readonly applied: readonly string[];
}

/** Time kept back from the Lambda timeout to report the verdict and run the self-test. */
export const REPORT_RESERVE_MS = 20_000;

const masterSecretSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  host: z.string().optional(),
  port: z.coerce.number().int().optional(),
  dbname: z.string().optional(),
});

/** Runs the gate for one lifecycle event and reports the verdict. Never throws on a gate failure. */
export async function runMigrationGate(
  deps: GateDependencies,
  event: LifecycleHookEvent,
): Promise<GateOutcome> {
  const outcome = await decide(deps, event);
  const log = outcome.verdict === 'Succeeded' ? deps.logger.info : deps.logger.error;
  log.call(deps.logger, `migration gate ${outcome.verdict.toLowerCase()}`, {
    deploymentId: event.DeploymentId,
    classification: outcome.classification,
    reason: outcome.reason,
    applied: outcome.applied,
  });
  await reportHookStatus(deps.codedeploy, event, outcome.verdict);
  return outcome;
}

async function decide(deps: GateDependencies, event: LifecycleHookEvent): Promise<GateOutcome> {
  const applied: string[] = [];
  const fail = (classification: GateOutcome['classification'], reason: string): GateOutcome => ({
    verdict: 'Failed',
    classification,
    reason,
    applied,
  });
  try {
    if (deps.settings.secretArn === undefined) {
      const selfTest = await invokeHealth(deps);
      if (selfTest !== undefined) return fail('fatal', `self-test of the new version failed: ${selfTest}`);
      return {
        verdict: 'Succeeded',
        classification: 'ok',
        reason: 'no database to migrate; self-test passed',
        applied,
      };
    }
    const connection = await databaseConnection(deps, deps.settings.secretArn);
    const status = await migrationStatus(connection, { dir: deps.migrationsDir });
    const pending = status.migrations.filter((m) => m.state === 'pending');
    if (pending.some((m) => m.phase === 'contract')) {
      const lastSuccess = await lastSuccessfulDeploymentEnd(deps.codedeploy, event.DeploymentId);
      const refused = refusedContracts(status.migrations, lastSuccess);
      if (refused.length > 0) {
        return fail(
          'refused',
          `contract migration refused, nothing was applied: ${refused.map((r) => `${r.migration}: ${r.reason}`).join('; ')}`,
        );
      }
    }

    const statementTimeout = Math.min(
      deps.settings.statementTimeoutMs,
      deps.remainingTimeMs() - REPORT_RESERVE_MS - deps.settings.selfTestTimeoutMs,
    );
    if (pending.length > 0 && statementTimeout < 1_000) {
      return fail('fatal', `too little time left to run migrations safely (${statementTimeout} ms)`);
    }
    const result = await migrate({
      direction: 'up',
      connection,
      lockTimeout: deps.settings.lockTimeoutMs,
      statementTimeout: Math.max(statementTimeout, 1_000),
      dir: deps.migrationsDir,
      logger: {
        info: (message, attributes) => deps.logger.info(message, { ...attributes }),
        warn: (message, attributes) => deps.logger.warn(message, { ...attributes }),
      },
    });
    applied.push(...result.applied.map((m) => m.name));
    deps.logger.info('migrations applied', { applied, durationsMs: result.applied.map((m) => m.durationMs) });

    const selfTest = await invokeHealth(deps);
    if (selfTest !== undefined) return fail('fatal', `self-test of the new version failed: ${selfTest}`);
    return {
      verdict: 'Succeeded',
      classification: 'ok',
      reason: 'migrations applied, self-test passed',
      applied,
    };
  } catch (error) {
    if (error instanceof MigrationError) {
      applied.push(...error.completed.map((m) => m.name));
      if (error.isLockTimeout) {
        return fail(
          'retryable',
          `migration ${error.migration} gave up waiting for a lock after ${deps.settings.lockTimeoutMs} ms and was rolled back; redeploy when the blocking transaction is gone`,
        );
      }
      if (error.isStatementTimeout) {
        return fail(
          'retryable',
          `migration ${error.migration} hit the statement timeout and was rolled back`,
        );
      }
      return fail('fatal', `migration ${error.migration} failed and was rolled back: ${error.message}`);
    }
    if (error instanceof MigrationLockError) return fail('retryable', error.message);
    if (error instanceof MigrationPlanError) return fail('fatal', error.message);
    return fail('retryable', `migration gate error: ${messageOf(error)}`);
  }
}

/** The master user's connection, with the password fetched now (never stored in env). */
async function databaseConnection(deps: GateDependencies, secretArn: string) {
  const response = await deps.secrets.send(new GetSecretValueCommand({ SecretId: secretArn }), {
    abortSignal: AbortSignal.timeout(5_000),
  });
  const parsed = masterSecretSchema.safeParse(JSON.parse(response.SecretString ?? '{}'));
  if (!parsed.success) throw new Error('the master secret lacks a username or password');
  const secret = parsed.data;
  const host = deps.settings.host ?? secret.host;
  if (!host) throw new Error('no database host: set DB_HOST or store `host` in the master secret');
  return {
    host,
    port: deps.settings.port ?? secret.port ?? 5432,
    database: deps.settings.database ?? secret.dbname ?? 'postgres',
    user: secret.username,
    password: secret.password,
    ssl: deps.tls,
  };
}

async function lastSuccessfulDeploymentEnd(
  codedeploy: CodeDeployClient,
  deploymentId: string,
): Promise<Date | undefined> {
  const timeout = { abortSignal: AbortSignal.timeout(CODEDEPLOY_CALL_TIMEOUT_MS) };
  const deployment = await codedeploy.send(new GetDeploymentCommand({ deploymentId }), timeout);
  const info = deployment.deploymentInfo;
  if (!info?.applicationName || !info.deploymentGroupName) {
    throw new Error(`deployment ${deploymentId} has no application or deployment group`);
  }
  const group = await codedeploy.send(
    new GetDeploymentGroupCommand({
      applicationName: info.applicationName,
      deploymentGroupName: info.deploymentGroupName,
    }),
    timeout,
  );
  const last = group.deploymentGroupInfo?.lastSuccessfulDeployment;
  // Only a deployment other than this one counts (CodeDeploy does not list the running one here).
  if (!last?.endTime || last.deploymentId === deploymentId) return undefined;
  return last.endTime;
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

/** Invokes the new version's `GET /health`; returns why it failed, or undefined when it passed. */
async function invokeHealth(deps: GateDependencies): Promise<string | undefined> {
  let originVerify: string | undefined;
  if (deps.settings.originVerifySecretArn) {
    const secret = await deps.secrets.send(
      new GetSecretValueCommand({ SecretId: deps.settings.originVerifySecretArn }),
      { abortSignal: AbortSignal.timeout(deps.settings.selfTestTimeoutMs) },
    );
    originVerify = secret.SecretString;
  }
  const response = await deps.lambda.send(
    new InvokeCommand({
      FunctionName: deps.settings.targetVersionArn,
      Payload: Buffer.from(JSON.stringify(healthEvent(new Date(), originVerify, deps.settings.healthPath))),
    }),
    { abortSignal: AbortSignal.timeout(deps.settings.selfTestTimeoutMs) },
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
