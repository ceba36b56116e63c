import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type DBInstance,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  paginateDescribeDBInstances,
  RDSClient,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { FatalError, RetryableError, UserError } from '../../runtime/task-errors';
import {
  RESTORE_METRICS_NAMESPACE,
  RESTORE_PURPOSE,
  RESTORE_TAGS,
  throwawayInstanceIdentifier,
} from '../../shared/restore-verification';

/**
 * The RDS control-plane steps of a restore verification run (janitor, start, describe, delete)
 * and the metrics report. One function with an action switch: every action works on the same
 * throwaway instances with the same narrowly scoped RDS permissions, so splitting it would
 * multiply roles and log groups without narrowing any privilege. The verifier, which needs the
 * VPC and database credentials, is a separate function.
 */

const environmentSchema = z.object({
  IDENTIFIER_PREFIX: z.string().min(1),
  SOURCE_INSTANCE_IDENTIFIER: z.string().min(1),
  SUBNET_GROUP_NAME: z.string().min(1),
  SECURITY_GROUP_ID: z.string().min(1),
  INSTANCE_CLASS: z.string().startsWith('db.'),
  PARAMETER_GROUP_NAME: z.string().optional(),
  RESTORE_TIMEOUT_SECONDS: z.coerce.number().int().positive(),
  ORPHAN_MAX_AGE_SECONDS: z.coerce.number().int().positive(),
  ENVIRONMENT_NAME: z.string().min(1),
  DATABASE_NAME: z.string().min(1),
});
export type ControlEnvironment = z.infer<typeof environmentSchema>;

const run = { executionName: z.string().min(1).max(80) };
export const controlEventSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('janitor'), ...run }),
  z.object({ action: z.literal('startRestore'), ...run }),
  z.object({ action: z.literal('describe'), ...run, requestedAt: z.iso.datetime() }),
  z.object({ action: z.literal('delete'), ...run }),
  z.object({
    action: z.literal('report'),
    ...run,
    success: z.boolean(),
    rtoSeconds: z.number().nonnegative().optional(),
    rpoSeconds: z.number().nonnegative().optional(),
    reason: z.string().optional(),
  }),
]);
export type ControlEvent = z.infer<typeof controlEventSchema>;

export interface StartRestoreResult {
  readonly instanceIdentifier: string;
  /**
   * The source's latest restorable time read just before the restore call: a lower bound of the
   * restore point (`UseLatestRestorableTime` takes the value at the call). The verifier measures
   * the real point from the copy's newest heartbeat.
   */
  readonly restorePointTime: string;
  /** When the restore was requested: the start of the measured RTO. */
  readonly requestedAt: string;
  /** True when an earlier attempt of this run already created the instance. */
  readonly alreadyExisted: boolean;
}

export type RestoreState = 'pending' | 'available' | 'failed' | 'timedOut';
export interface DescribeResult {
  readonly instanceIdentifier: string;
  readonly state: RestoreState;
  readonly status: string;
  readonly elapsedSeconds: number;
  readonly host?: string;
  readonly port?: number;
}

export interface Dependencies {
  readonly rds: RDSClient;
  readonly env: ControlEnvironment;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => Date;
  /** Pause between retries of a throttled call (milliseconds). */
  readonly sleep: (ms: number) => Promise<void>;
}

/** Statuses from which a restore never becomes available. */
const FAILED_STATUSES = new Set([
  'failed',
  'incompatible-restore',
  'incompatible-parameters',
  'incompatible-network',
  'inaccessible-encryption-credentials',
  'inaccessible-encryption-credentials-recoverable',
  'restore-error',
  'storage-full',
  'deleting',
]);
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);
const MAX_ATTEMPTS = 5;

/** Retries throttled and 5xx calls with exponential backoff and full jitter. */
export async function withRetry<T>(
  deps: Pick<Dependencies, 'sleep' | 'logger'>,
  call: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const e = error as { name?: string; $fault?: string; $retryable?: unknown };
      const transient = THROTTLING.has(e.name ?? '') || e.$fault === 'server' || Boolean(e.$retryable);
      if (!transient) throw error;
      if (attempt >= MAX_ATTEMPTS) {
        throw new RetryableError(`RDS still failing after ${MAX_ATTEMPTS} attempts: ${e.name}`);
      }
      const delay = Math.round(Math.random() * Math.min(20_000, 500 * 2 ** attempt));
      deps.logger.warn('transient RDS error, retrying', { error: e.name, attempt, delayMs: delay });
      await deps.sleep(delay);
    }
  }
}

function tagValue(instance: DBInstance, key: string): string | undefined {
  return instance.TagList?.find((t) => t.Key === key)?.Value;
}

async function describeInstance(deps: Dependencies, identifier: string): Promise<DBInstance | undefined> {
  try {
    const out = await withRetry(deps, () =>
      deps.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })),
    );
    return out.DBInstances?.[0];
  } catch (error) {
    if ((error as Error).name === 'DBInstanceNotFoundFault') return undefined;
    throw error;
  }
}

/** Deletes throwaway instances of earlier runs that outlived `ORPHAN_MAX_AGE_SECONDS`. */
export async function janitor(deps: Dependencies, executionName: string): Promise<{ deleted: string[] }> {
  const { env } = deps;
  const current = throwawayInstanceIdentifier(env.IDENTIFIER_PREFIX, executionName);
  const cutoff = deps.now().getTime() - env.ORPHAN_MAX_AGE_SECONDS * 1000;
  const deleted: string[] = [];
  for await (const page of paginateDescribeDBInstances({ client: deps.rds }, {})) {
    for (const instance of page.DBInstances ?? []) {
      const id = instance.DBInstanceIdentifier ?? '';
      const created = instance.InstanceCreateTime?.getTime() ?? Number.POSITIVE_INFINITY;
      const orphan =
        id.startsWith(env.IDENTIFIER_PREFIX) &&
        id !== current &&
        tagValue(instance, RESTORE_TAGS.purpose) === RESTORE_PURPOSE &&
        instance.DBInstanceStatus !== 'deleting' &&
        created < cutoff;
      if (!orphan) continue;
      const outcome = await deleteInstance(deps, id);
      deps.logger.info('janitor deleted an orphaned throwaway instance', { instanceIdentifier: id, outcome });
      deleted.push(id);
    }
  }
  return { deleted };
}

/** Starts the point-in-time restore of the source at its latest restorable time. */
export async function startRestore(deps: Dependencies, executionName: string): Promise<StartRestoreResult> {
  const { env } = deps;
  const identifier = throwawayInstanceIdentifier(env.IDENTIFIER_PREFIX, executionName);
  const source = await describeInstance(deps, env.SOURCE_INSTANCE_IDENTIFIER);
  if (!source) throw new FatalError(`source instance '${env.SOURCE_INSTANCE_IDENTIFIER}' does not exist`);
  if (!source.LatestRestorableTime) {
    throw new FatalError(
      `source instance '${env.SOURCE_INSTANCE_IDENTIFIER}' has no latest restorable time: are automated backups on?`,
    );
  }
  const restorePointTime = source.LatestRestorableTime.toISOString();
  const requestedAt = deps.now().toISOString();
  try {
    await withRetry(deps, () =>
      deps.rds.send(
        new RestoreDBInstanceToPointInTimeCommand({
          SourceDBInstanceIdentifier: env.SOURCE_INSTANCE_IDENTIFIER,
          TargetDBInstanceIdentifier: identifier,
          UseLatestRestorableTime: true,
          DBInstanceClass: env.INSTANCE_CLASS,
          DBSubnetGroupName: env.SUBNET_GROUP_NAME,
          VpcSecurityGroupIds: [env.SECURITY_GROUP_ID],
          DBParameterGroupName: env.PARAMETER_GROUP_NAME,
          MultiAZ: false,
          PubliclyAccessible: false,
          EnableIAMDatabaseAuthentication: true,
          DeletionProtection: false,
          AutoMinorVersionUpgrade: false,
          CopyTagsToSnapshot: false,
          BackupRetentionPeriod: 0,
          Tags: [
            { Key: RESTORE_TAGS.purpose, Value: RESTORE_PURPOSE },
            { Key: RESTORE_TAGS.runId, Value: executionName },
            { Key: RESTORE_TAGS.restorePoint, Value: restorePointTime },
            { Key: RESTORE_TAGS.requestedAt, Value: requestedAt },
          ],
        }),
      ),
    );
    deps.logger.info('restore started', { instanceIdentifier: identifier, restorePointTime });
    return { instanceIdentifier: identifier, restorePointTime, requestedAt, alreadyExisted: false };
  } catch (error) {
    if ((error as Error).name !== 'DBInstanceAlreadyExistsFault') throw error;
    // A retry of this run: the first attempt created the instance. Its tags say when and from
    // which restore point, so the measured RTO starts at the first request.
    const existing = await describeInstance(deps, identifier);
    if (!existing)
      throw new RetryableError(`instance '${identifier}' reported as existing but not found yet`);
    if (tagValue(existing, RESTORE_TAGS.runId) !== executionName) {
      throw new FatalError(`instance '${identifier}' exists but belongs to another run; not touching it`);
    }
    deps.logger.info('restore already started by an earlier attempt', { instanceIdentifier: identifier });
    return {
      instanceIdentifier: identifier,
      restorePointTime: tagValue(existing, RESTORE_TAGS.restorePoint) ?? restorePointTime,
      requestedAt:
        tagValue(existing, RESTORE_TAGS.requestedAt) ??
        existing.InstanceCreateTime?.toISOString() ??
        requestedAt,
      alreadyExisted: true,
    };
  }
}

/** Where the restore is: pending, available (with its endpoint), failed, or past the timeout. */
export async function describeRestore(
  deps: Dependencies,
  executionName: string,
  requestedAt: string,
): Promise<DescribeResult> {
  const identifier = throwawayInstanceIdentifier(deps.env.IDENTIFIER_PREFIX, executionName);
  const elapsedSeconds = Math.round((deps.now().getTime() - Date.parse(requestedAt)) / 1000);
  const instance = await describeInstance(deps, identifier);
  const status = instance?.DBInstanceStatus ?? 'not-found';
  let state: RestoreState = 'pending';
  if (status === 'available' && instance?.Endpoint?.Address) state = 'available';
  else if (FAILED_STATUSES.has(status) || !instance) state = 'failed';
  else if (elapsedSeconds > deps.env.RESTORE_TIMEOUT_SECONDS) state = 'timedOut';
  deps.logger.info('restore status', { instanceIdentifier: identifier, status, state, elapsedSeconds });
  return {
    instanceIdentifier: identifier,
    state,
    status,
    elapsedSeconds,
    ...(state === 'available' ? { host: instance?.Endpoint?.Address, port: instance?.Endpoint?.Port } : {}),
  };
}

/** Thrown while an instance cannot be deleted yet (still creating); the state machine retries. */
export class InstanceNotDeletableYet extends RetryableError {
  override readonly name = 'InstanceNotDeletableYet';
}

type DeleteOutcome = 'deleting' | 'not-found' | 'already-deleting';

async function deleteInstance(deps: Dependencies, identifier: string): Promise<DeleteOutcome> {
  try {
    await withRetry(deps, () =>
      deps.rds.send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: identifier,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
      ),
    );
    return 'deleting';
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'DBInstanceNotFoundFault') return 'not-found';
    if (name === 'InvalidDBInstanceStateFault') {
      const instance = await describeInstance(deps, identifier);
      if (!instance) return 'not-found';
      if (instance.DBInstanceStatus === 'deleting') return 'already-deleting';
      throw new InstanceNotDeletableYet(
        `instance '${identifier}' is '${instance.DBInstanceStatus}' and cannot be deleted yet`,
      );
    }
    throw error;
  }
}

/** Deletes this run's throwaway instance without a final snapshot; absent counts as done. */
export async function deleteThrowaway(
  deps: Dependencies,
  executionName: string,
): Promise<{ instanceIdentifier: string; outcome: DeleteOutcome }> {
  const identifier = throwawayInstanceIdentifier(deps.env.IDENTIFIER_PREFIX, executionName);
  const outcome = await deleteInstance(deps, identifier);
  deps.logger.info('throwaway instance deleted', { instanceIdentifier: identifier, outcome });
  return { instanceIdentifier: identifier, outcome };
}

/** Publishes Success (1/0), RtoSeconds and RpoSeconds as CloudWatch embedded metrics. */
export function report(
  deps: Dependencies,
  event: Extract<ControlEvent, { action: 'report' }>,
): { published: string[] } {
  const { metrics } = deps;
  // Exactly Environment + Database: the alarms select on this dimension set, and Powertools
  // would otherwise add its `service` default dimension.
  metrics.clearDefaultDimensions();
  metrics.addDimensions({ Environment: deps.env.ENVIRONMENT_NAME, Database: deps.env.DATABASE_NAME });
  metrics.addMetric('Success', MetricUnit.Count, event.success ? 1 : 0);
  const published = ['Success'];
  if (event.success && event.rtoSeconds !== undefined) {
    metrics.addMetric('RtoSeconds', MetricUnit.Seconds, event.rtoSeconds);
    published.push('RtoSeconds');
  }
  if (event.success && event.rpoSeconds !== undefined) {
    metrics.addMetric('RpoSeconds', MetricUnit.Seconds, event.rpoSeconds);
    published.push('RpoSeconds');
  }
  metrics.publishStoredMetrics();
  const log = event.success ? deps.logger.info.bind(deps.logger) : deps.logger.error.bind(deps.logger);
  log('restore verification finished', {
    success: event.success,
    rtoSeconds: event.rtoSeconds,
    rpoSeconds: event.rpoSeconds,
    reason: event.reason,
  });
  return { published };
}

/** Builds the handler around its dependencies (tests pass mocks; production uses the defaults). */
export function createHandler(make: () => Dependencies) {
  let deps: Dependencies | undefined;
  return async (raw: unknown, context?: Context): Promise<unknown> => {
    deps ??= make();
    const parsed = controlEventSchema.safeParse(raw);
    if (!parsed.success) throw new UserError(`invalid event: ${z.prettifyError(parsed.error)}`);
    const event = parsed.data;
    deps.logger.resetKeys?.();
    deps.logger.appendKeys({ action: event.action, executionName: event.executionName });
    if (context) deps.logger.addContext(context);
    switch (event.action) {
      case 'janitor':
        return janitor(deps, event.executionName);
      case 'startRestore':
        return startRestore(deps, event.executionName);
      case 'describe':
        return describeRestore(deps, event.executionName, event.requestedAt);
      case 'delete':
        return deleteThrowaway(deps, event.executionName);
      case 'report':
        return report(deps, event);
    }
  };
}

export const handler = createHandler(() => ({
  // One attempt per SDK call: withRetry owns the backoff so that it is visible and testable.
  rds: new RDSClient({
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
  }),
  env: environmentSchema.parse(process.env),
  logger: new Logger({ serviceName: 'restore-verification' }),
  metrics: new Metrics({ namespace: RESTORE_METRICS_NAMESPACE, serviceName: 'restore-verification' }),
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}));
