/**
 * BeforeAllowTraffic: the migration gate. It acts on the deployment it is called for: the
 * function and the target and current versions come from the deployment's AppSpec
 * (deployment-target.ts), never from synth-time settings. Before the target receives traffic:
 *  - on a ROLL-FORWARD (target newer than current) it refuses contract migrations that are not
 *    yet safe (see contract-rule.ts), applies the pending migrations with `lib/migrations` one at
 *    a time — each in its own transaction with `lock_timeout` and a `statement_timeout` no longer
 *    than what is left of the hook's total time budget, so a failure leaves no partial schema —
 *    then self-tests the target;
 *  - on a ROLLBACK (target older than current) it applies NO migration (the schema is expand-
 *    compatible with the previous release by the expand/contract rule) and self-tests the target;
 *  - the self-test invokes the TARGET version with a synthetic `GET /health`;
 *  - it reports Succeeded or Failed to CodeDeploy through `runLifecycleHook`, which also reports
 *    Failed on bad settings, any error, or a spent time budget. Failed stops the deployment while
 *    the current version still serves 100% of the traffic.
 *
 * It connects to the database instance directly (not through the RDS Proxy) as the master user:
 * migrations are DDL that take ACCESS EXCLUSIVE locks and hold a session-level advisory lock
 * across several transactions; the proxy pins such sessions anyway and is meant for the app's
 * short transactions with IAM-authenticated roles, which cannot own the schema.
 */
import { type CodeDeployClient, GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ConnectionOptions } from 'node:tls';
import type { ClientConfig } from 'pg';
import { z } from 'zod';
import {
  migrate,
  MigrationError,
  MigrationLockError,
  MigrationPlanError,
  migrationStatus,
} from '../../../lib/migrations';
import {
  budgetSignal,
  CODEDEPLOY_CALL_TIMEOUT_MS,
  type HookBudget,
  type HookFailureCause,
  type HookVerdict,
  type LifecycleHookEvent,
  messageOf,
  runLifecycleHook,
} from '../../shared/lifecycle-hook';
import {
  AppSpecError,
  type DeploymentTarget,
  isSameFunction,
  readDeploymentTarget,
} from '../deployment-target';
import { refusedContracts } from './contract-rule';
import { invokeHealth } from './self-test';
import { gateApplicationName, terminateSessions } from './sessions';

/** Settings the construct passes through the environment. */
export interface GateSettings {
  /**
   * Name of the service function the gate guards: a deployment of any other function is
   * refused (the AppSpec's `Name` must match).
   */
  readonly functionName: string;
  /**
   * Secrets Manager secret holding the master user (`username`, `password`, `host`, `port`, `dbname`).
   * @default - no database: the gate only self-tests the target version
   */
  readonly secretArn?: string;
  /** @default - `host` of the secret */
  readonly host?: string;
  /** @default - `port` of the secret, else 5432 */
  readonly port?: number;
  /** @default - `dbname` of the secret, else `postgres` */
  readonly database?: string;
  /**
   * Secret whose current value CloudFront sends as `x-origin-verify`: the API refuses requests
   * without it, so the self-test sends it too.
   * @default - no origin check on the API: no header
   */
  readonly originVerifySecretArn?: string;
  readonly lockTimeoutMs: number;
  /** Longest statement of a migration (further capped by the time budget left). */
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
  /** Read inside the reporting guard: a throw reports Failed. */
  readonly settings: () => GateSettings;
  /** TLS for the database connection; `false` only for a local test server. */
  readonly tls: ConnectionOptions | false;
  /** @default - the migrations bundled with the hook */
  readonly migrationsDir?: string;
  /** Milliseconds this invocation has left (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs: () => number;
  /** @default DEFAULT_REPORT_RESERVE_MS */
  readonly reportReserveMs?: number;
}

/** What the gate decided, and why (also logged). */
export interface GateOutcome {
  readonly verdict: HookVerdict;
  /** `ok`, or the failure class: refused (a rule said no), retryable (try again later), fatal. */
  readonly classification: 'ok' | 'refused' | 'retryable' | 'fatal';
  readonly reason: string;
  readonly applied: readonly string[];
  /** The deployment's versions, when the AppSpec was read. */
  readonly target?: { readonly current: string; readonly target: string; readonly rollback: boolean };
}

/** A statement timeout shorter than this is no way to run a migration: stop instead. */
const MIN_STATEMENT_TIMEOUT_MS = 1_000;
/**
 * PostgreSQL ends a session idle inside a transaction after this long, releasing its locks: if
 * the budget runs out mid-migration the hook reports and Lambda freezes it, and its transaction
 * (aborted by `statement_timeout`) must not keep holding locks
 * (https://www.postgresql.org/docs/current/runtime-config-client.html).
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

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
  const state: GateState = { applied: [] };
  const failed = (cause: HookFailureCause, reason: string): GateOutcome => ({
    verdict: 'Failed',
    classification: cause === 'settings' ? 'fatal' : 'retryable',
    reason,
    applied: [...state.applied],
  });
  return runLifecycleHook(
    {
      name: 'migration gate',
      codedeploy: deps.codedeploy,
      logger: deps.logger,
      settings: deps.settings,
      remainingTimeMs: deps.remainingTimeMs,
      reportReserveMs: deps.reportReserveMs,
      body: (settings, budget) => decide({ ...deps, settings }, event, budget, state),
      failed,
      stop: async () => {
        if (!state.connection) return undefined;
        const ended = await terminateSessions(state.connection, gateApplicationName(event.DeploymentId));
        return `${ended} database session(s) ended; a running migration was rolled back`;
      },
    },
    event,
  );
}

type Resolved = Omit<GateDependencies, 'settings'> & { readonly settings: GateSettings };

/** What one run has done so far: read by the budget's stop and failure. */
interface GateState {
  readonly applied: string[];
  /** Set once the gate connects to the database. */
  connection?: ClientConfig;
}

async function decide(
  deps: Resolved,
  event: LifecycleHookEvent,
  budget: HookBudget,
  state: GateState,
): Promise<GateOutcome> {
  const { applied } = state;
  let versions: GateOutcome['target'];
  const fail = (classification: GateOutcome['classification'], reason: string): GateOutcome => ({
    verdict: 'Failed',
    classification,
    reason,
    applied: [...applied],
    target: versions,
  });
  const ok = (reason: string): GateOutcome => ({
    verdict: 'Succeeded',
    classification: 'ok',
    reason,
    applied: [...applied],
    target: versions,
  });
  try {
    const target = await readDeploymentTarget(
      deps.codedeploy,
      event.DeploymentId,
      budgetSignal(budget, CODEDEPLOY_CALL_TIMEOUT_MS),
    );
    versions = { current: target.currentVersion, target: target.targetVersion, rollback: target.isRollback };
    if (!isSameFunction(target.functionName, deps.settings.functionName)) {
      return fail(
        'refused',
        `deployment ${event.DeploymentId} shifts '${target.functionName}', not '${deps.settings.functionName}': this gate only guards its own function`,
      );
    }
    deps.logger.info('deployment target', { ...versions, alias: target.alias });
    const which = `version ${target.targetVersion}`;
    if (target.isRollback || deps.settings.secretArn === undefined) {
      const selfTest = await invokeHealth(deps, target, budget);
      if (selfTest !== undefined) return fail('fatal', `self-test of ${which} failed: ${selfTest}`);
      return ok(
        target.isRollback
          ? `rollback from version ${target.currentVersion} to ${target.targetVersion}: no migration applied; self-test of ${which} passed`
          : `no database to migrate; self-test of ${which} passed`,
      );
    }
    const connection: ClientConfig = {
      ...(await databaseConnection(deps, deps.settings.secretArn, budget)),
      application_name: gateApplicationName(event.DeploymentId),
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    };
    state.connection = connection;
    const status = await migrationStatus(connection, { dir: deps.migrationsDir });
    const pending = status.migrations.filter((m) => m.state === 'pending');
    if (pending.some((m) => m.phase === 'contract')) {
      const lastSuccess = await lastSuccessfulDeploymentEnd(deps.codedeploy, target, budget);
      const refused = refusedContracts(status.migrations, lastSuccess);
      if (refused.length > 0) {
        return fail(
          'refused',
          `contract migration refused, nothing was applied: ${refused.map((r) => `${r.migration}: ${r.reason}`).join('; ')}`,
        );
      }
    }
    for (const migration of pending) {
      // Every statement ends before the budget does (less the self-test still to come).
      const left = budget.remainingMs() - deps.settings.selfTestTimeoutMs;
      if (left < MIN_STATEMENT_TIMEOUT_MS) {
        return fail(
          'fatal',
          `too little time left to run migrations safely (${left} ms before ${migration.name}; applied: ${applied.join(', ') || 'none'})`,
        );
      }
      const result = await migrate({
        direction: 'up',
        connection,
        count: 1,
        lockTimeout: deps.settings.lockTimeoutMs,
        statementTimeout: Math.min(deps.settings.statementTimeoutMs, left),
        dir: deps.migrationsDir,
        logger: {
          info: (message, attributes) => deps.logger.info(message, { ...attributes }),
          warn: (message, attributes) => deps.logger.warn(message, { ...attributes }),
        },
      });
      applied.push(...result.applied.map((m) => m.name));
    }
    deps.logger.info('migrations applied', { applied });

    const selfTest = await invokeHealth(deps, target, budget);
    if (selfTest !== undefined) return fail('fatal', `self-test of ${which} failed: ${selfTest}`);
    return ok(`migrations applied, self-test of ${which} passed`);
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
          `migration ${error.migration} hit the statement timeout (the configured one or the end of the time budget) and was rolled back`,
        );
      }
      return fail('fatal', `migration ${error.migration} failed and was rolled back: ${error.message}`);
    }
    if (error instanceof MigrationLockError) return fail('retryable', error.message);
    if (error instanceof MigrationPlanError || error instanceof AppSpecError)
      return fail('fatal', error.message);
    return fail('retryable', `migration gate error: ${messageOf(error)}`);
  }
}

/** The master user's connection, with the password fetched now (never stored in env). */
async function databaseConnection(deps: Resolved, secretArn: string, budget: HookBudget) {
  const response = await deps.secrets.send(new GetSecretValueCommand({ SecretId: secretArn }), {
    abortSignal: budgetSignal(budget, 5_000),
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
  target: DeploymentTarget,
  budget: HookBudget,
): Promise<Date | undefined> {
  const group = await codedeploy.send(
    new GetDeploymentGroupCommand({
      applicationName: target.applicationName,
      deploymentGroupName: target.deploymentGroupName,
    }),
    { abortSignal: budgetSignal(budget, CODEDEPLOY_CALL_TIMEOUT_MS) },
  );
  const last = group.deploymentGroupInfo?.lastSuccessfulDeployment;
  // Only a deployment other than this one counts (CodeDeploy does not list the running one here).
  if (!last?.endTime || last.deploymentId === target.deploymentId) return undefined;
  return last.endTime;
}
