/**
 * AfterAllowTraffic: the smoke test, through the real front door (the CloudFront URL):
 *   1. `GET /health` answers 200;
 *   2. the smoke-test user signs in (Cognito `InitiateAuth`, USER_PASSWORD_AUTH, on the API's app
 *      client; its password comes from Secrets Manager at run time);
 *   3. `POST /notes` with an `Idempotency-Key` creates a note, the same request replayed returns
 *      the same note, `GET /notes/{id}` reads it back, `DELETE /notes/{id}` removes it.
 * Then it reports Succeeded or Failed to CodeDeploy; Failed rolls the alias back.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { Logger } from '@aws-lambda-powertools/logger';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  budgetSignal,
  type HookBudget,
  type HookVerdict,
  type LifecycleHookEvent,
  messageOf,
  runLifecycleHook,
} from '../../shared/lifecycle-hook';

export interface SmokeSettings {
  /** Base URL of the API's front door, e.g. `https://d111.cloudfront.net`. */
  readonly apiUrl: string;
  /** User name of the smoke-test user. */
  readonly username: string;
  /** Secret whose string is the smoke-test user's password. */
  readonly passwordSecretArn: string;
  /** The API's Cognito app client (USER_PASSWORD_AUTH enabled). */
  readonly userPoolClientId: string;
  /** Cognito endpoint, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/`. */
  readonly cognitoEndpoint: string;
  /** Timeout of each HTTP request. */
  readonly requestTimeoutMs: number;
  /** Public liveness path probed first. @default '/health' */
  readonly healthPath?: string;
  /**
   * The service's own checks, run after sign-in instead of the sample's note round trip.
   * @default - the sample API's note round trip
   */
  readonly checks?: readonly SmokeCheck[];
}

/** One request of an adopter's smoke test and the status it must answer. */
export interface SmokeCheck {
  readonly method: string;
  /** Path under the API URL, e.g. `/todos`. */
  readonly path: string;
  readonly expectStatus: number;
  /** Send the smoke user's access token. @default true */
  readonly authenticated?: boolean;
  /** JSON body (writes carry a fresh `Idempotency-Key`). */
  readonly body?: unknown;
}

/** `SMOKE_CHECKS` as the construct writes it: a JSON array of {@link SmokeCheck}. */
export const smokeChecksSchema = z.array(
  z.object({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
    path: z.string().regex(/^\/[^\s]*$/, 'must start with /'),
    expectStatus: z.number().int().min(100).max(599),
    authenticated: z.boolean().optional(),
    body: z.unknown().optional(),
  }),
);

export interface SmokeDependencies {
  readonly codedeploy: CodeDeployClient;
  readonly secrets: SecretsManagerClient;
  readonly logger: Logger;
  /** Read inside the reporting guard: a throw (a missing setting) reports Failed. */
  readonly settings: () => SmokeSettings;
  readonly fetch: typeof fetch;
  /** Milliseconds this invocation has left (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs: () => number;
  /** @default DEFAULT_REPORT_RESERVE_MS */
  readonly reportReserveMs?: number;
}

export interface SmokeOutcome {
  readonly verdict: HookVerdict;
  /** The step that failed, or `done`. */
  readonly step: string;
  readonly reason: string;
}

/** A smoke step that failed; `step` names it in the log and the outcome. */
class SmokeFailure extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
  }
}

const authResultSchema = z.object({ AuthenticationResult: z.object({ AccessToken: z.string().min(1) }) });
const noteSchema = z.object({ id: z.string().min(1), title: z.string() });

/**
 * Runs the smoke test and reports the verdict. Never throws on a smoke failure; bad settings, a
 * spent time budget or any error report Failed (see `runLifecycleHook`).
 */
export async function runSmokeTest(
  deps: SmokeDependencies,
  event: LifecycleHookEvent,
): Promise<SmokeOutcome> {
  return runLifecycleHook<SmokeSettings, SmokeOutcome>(
    {
      name: 'smoke test',
      codedeploy: deps.codedeploy,
      logger: deps.logger,
      settings: deps.settings,
      remainingTimeMs: deps.remainingTimeMs,
      reportReserveMs: deps.reportReserveMs,
      body: async (settings, budget) => {
        try {
          await smoke(deps, settings, budget);
        } catch (error) {
          if (!(error instanceof SmokeFailure)) throw error;
          return { verdict: 'Failed', step: error.step, reason: error.message };
        }
        const what = settings.checks ? `${settings.checks.length} service check(s)` : 'note round-trip';
        return { verdict: 'Succeeded', step: 'done', reason: `health, sign-in and ${what} passed` };
      },
      failed: (cause, reason) => ({
        verdict: 'Failed',
        step: cause === 'error' ? 'unexpected' : cause,
        reason,
      }),
    },
    event,
  );
}

async function smoke(deps: SmokeDependencies, settings: SmokeSettings, budget: HookBudget): Promise<void> {
  const base = settings.apiUrl.replace(/\/+$/, '');

  const request = async (step: string, url: string, init: RequestInit): Promise<Response> => {
    try {
      return await deps.fetch(url, { ...init, signal: budgetSignal(budget, settings.requestTimeoutMs) });
    } catch (error) {
      throw new SmokeFailure(step, `${init.method ?? 'GET'} ${url} did not answer: ${messageOf(error)}`);
    }
  };
  const expectStatus = async (step: string, response: Response, expected: number): Promise<string> => {
    const body = await response.text();
    if (response.status !== expected) {
      throw new SmokeFailure(step, `expected ${expected}, got ${response.status}: ${body.slice(0, 300)}`);
    }
    return body;
  };
  const parse = <T>(step: string, schema: z.ZodType<T>, body: string): T => {
    try {
      return schema.parse(JSON.parse(body));
    } catch (error) {
      throw new SmokeFailure(step, `unexpected response body: ${messageOf(error)}`);
    }
  };

  const healthPath = settings.healthPath ?? '/health';
  await expectStatus('health', await request('health', `${base}${healthPath}`, { method: 'GET' }), 200);

  const secret = await deps.secrets
    .send(new GetSecretValueCommand({ SecretId: settings.passwordSecretArn }), {
      abortSignal: budgetSignal(budget, 5_000),
    })
    .catch((error: unknown) => {
      throw new SmokeFailure('credentials', messageOf(error));
    });
  const password = secret.SecretString ?? '';
  if (password === '') throw new SmokeFailure('credentials', 'the smoke-test password secret is empty');

  const signIn = await request('sign-in', settings.cognitoEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AWSCognitoIdentityProviderService.InitiateAuth',
    },
    body: JSON.stringify({
      AuthFlow: 'USER_PASSWORD_AUTH',
      ClientId: settings.userPoolClientId,
      AuthParameters: { USERNAME: settings.username, PASSWORD: password },
    }),
  });
  const token = parse('sign-in', authResultSchema, await expectStatus('sign-in', signIn, 200))
    .AuthenticationResult.AccessToken;
  const auth = { authorization: `Bearer ${token}` };

  if (settings.checks) {
    for (const [index, check] of settings.checks.entries()) {
      const step = `check ${index + 1}: ${check.method} ${check.path}`;
      const headers: Record<string, string> = check.authenticated === false ? {} : { ...auth };
      if (check.body !== undefined) headers['content-type'] = 'application/json';
      if (check.method !== 'GET' && check.method !== 'HEAD')
        headers['idempotency-key'] = `smoke-${randomUUID()}`;
      const response = await request(step, `${base}${check.path}`, {
        method: check.method,
        headers,
        ...(check.body !== undefined ? { body: JSON.stringify(check.body) } : {}),
      });
      await expectStatus(step, response, check.expectStatus);
    }
    return;
  }

  const idempotencyKey = `smoke-${randomUUID()}`;
  const title = `smoke test ${new Date().toISOString()}`;
  const create = () =>
    request('create', `${base}/notes`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify({ title, body: 'written by the AfterAllowTraffic smoke test' }),
    });
  const created = parse('create', noteSchema, await expectStatus('create', await create(), 201));
  const replayed = parse(
    'idempotent replay',
    noteSchema,
    await expectStatus('idempotent replay', await create(), 201),
  );
  if (replayed.id !== created.id) {
    throw new SmokeFailure(
      'idempotent replay',
      `replaying Idempotency-Key ${idempotencyKey} created a second note (${replayed.id} besides ${created.id})`,
    );
  }

  const noteUrl = `${base}/notes/${encodeURIComponent(created.id)}`;
  const read = parse(
    'read',
    noteSchema,
    await expectStatus('read', await request('read', noteUrl, { headers: auth }), 200),
  );
  if (read.title !== title)
    throw new SmokeFailure('read', `read back title '${read.title}', wrote '${title}'`);

  await expectStatus(
    'delete',
    await request('delete', noteUrl, {
      method: 'DELETE',
      headers: { ...auth, 'idempotency-key': `smoke-delete-${randomUUID()}` },
    }),
    204,
  );
}
