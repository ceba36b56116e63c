import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { Client } from 'pg';
import { z } from 'zod';
import { FatalError, UserError } from '../../runtime/task-errors';
import { type ConnectFn, iamConnect, withConnection } from '../../runtime/iam-connect';
import { CRITICAL_TABLE_NAME_PATTERN, type CriticalTable } from '../../shared/restore-verification';
import { classifyConnectionErrors } from './connection-errors';

export { DatabaseNotReadyError, isConnectionError } from './connection-errors';

/**
 * Connects as `restore_verifier` (read-only, IAM token, TLS) and
 * - `readSource`: reads the source's recent migration history through the RDS Proxy. The state
 *   machine calls it right after the restore starts, so the history covers the restore point;
 * - `verify`: checks the restored instance: latest applied migration equals the source's latest
 *   migration applied at or before the restore point, every critical table exists with at least
 *   its minimum rows, and the newest heartbeat gives the measured RPO.
 *
 * Comparing against the source's history *filtered by the restore point* (not the source's
 * current version) means a deploy that migrates the source during a run cannot fail it falsely.
 */

const MIGRATIONS_TABLE = 'shipshape_migrations';

/** The construct's `criticalTables` as they arrive in `CRITICAL_TABLES`, checked with the same rules. */
export const criticalTableSchema = z.object({
  name: z.string().regex(CRITICAL_TABLE_NAME_PATTERN, 'must be a lower-case table name in schema public'),
  minRows: z.number().int().nonnegative(),
}) satisfies z.ZodType<CriticalTable>;
export type { CriticalTable };

const environmentSchema = z.object({
  DATABASE_NAME: z.string().min(1),
  DATABASE_USER: z.string().min(1),
  PROXY_ENDPOINT: z.string().min(1),
  DATABASE_PORT: z.coerce.number().int().positive().default(5432),
  CRITICAL_TABLES: z.string().transform((raw, ctx) => {
    const parsed = z.array(criticalTableSchema).safeParse(JSON.parse(raw));
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: z.prettifyError(parsed.error) });
      return z.NEVER;
    }
    return parsed.data;
  }),
});
export type VerifierEnvironment = z.infer<typeof environmentSchema>;

const migrationSchema = z.object({ name: z.string().min(1), runOn: z.iso.datetime({ offset: true }) });
export type AppliedMigration = z.infer<typeof migrationSchema>;

export const verifierEventSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('readSource') }),
  z.object({
    action: z.literal('verify'),
    host: z.string().min(1),
    port: z.number().int().positive(),
    restorePointTime: z.iso.datetime({ offset: true }),
    requestedAt: z.iso.datetime({ offset: true }),
    sourceMigrations: z.array(migrationSchema),
  }),
]);
export type VerifierEvent = z.infer<typeof verifierEventSchema>;
export type VerifyInput = Omit<Extract<VerifierEvent, { action: 'verify' }>, 'action' | 'host' | 'port'>;

export interface TableCheck {
  readonly name: string;
  readonly exists: boolean;
  readonly rows: number;
  readonly minRows: number;
}

export interface VerificationResult {
  readonly passed: boolean;
  /** Why it failed, one sentence per problem; empty when it passed. */
  readonly failures: string[];
  readonly expectedMigration: string | null;
  readonly restoredMigration: string | null;
  readonly tables: TableCheck[];
  readonly newestHeartbeat: string | null;
  /**
   * The restore point measured from the copy: the later of the source's latest restorable time
   * read before the restore call and the copy's newest heartbeat (see {@link verifyRestore}).
   */
  readonly restorePointTime: string;
  /** Data lost had the source died when the restore was requested: request time − newest heartbeat. */
  readonly rpoSeconds: number | null;
  /** From the restore request to the end of verification. */
  readonly rtoSeconds: number;
  /** How far the measured restore point trailed the request (the PITR log-shipping lag). */
  readonly restorePointLagSeconds: number;
}

/** Thrown when the restored database fails a check; the message lists every failure. */
export class VerificationFailedError extends Error {
  override readonly name = 'VerificationFailed';
}

/** The source's most recent migrations, newest first, with when each was applied. */
export async function readMigrationHistory(client: Client, limit = 50): Promise<AppliedMigration[]> {
  const { rows } = await client.query<{ name: string; run_on_ms: string }>(
    `SELECT name, ${epochMs('run_on')} AS run_on_ms
       FROM public.${MIGRATIONS_TABLE} ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ name: r.name, runOn: new Date(Number(r.run_on_ms)).toISOString() }));
}

/**
 * SQL for a `timestamptz` column as milliseconds since the epoch: the one way this verifier reads
 * times. An instant read as a number does not depend on the session's `TimeZone` (the database
 * parameter group's, or a role's `SET TIME ZONE`) nor on the Lambda's: `run_on` and
 * `recorded_at` are `timestamptz`, and converting them to a zone-less `timestamp` (as this file
 * once did) made the result depend on both.
 */
function epochMs(column: string): string {
  return `round(extract(epoch FROM ${column}) * 1000)::bigint`;
}

async function tableExists(client: Client, name: string): Promise<boolean> {
  const { rows } = await client.query<{ found: string | null }>(`SELECT to_regclass($1) AS found`, [
    `public.${name}`,
  ]);
  return rows[0].found !== null;
}

const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));

/**
 * Runs every check on a connected client of the restored database. Never throws on a failed check.
 *
 * The restore point is measured from the copy. `input.restorePointTime` is the source's
 * LatestRestorableTime read just before the restore call, which asks for
 * `UseLatestRestorableTime`; that time only moves forward, so the copy's real point is at or
 * after it, by however long the call took to reach RDS. The copy itself has no
 * LatestRestorableTime to ask for (it is created without backups, and LatestRestorableTime
 * describes backups: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBInstance.html).
 * What the copy does hold is its newest heartbeat row, written at most one heartbeat interval
 * before the real point. So the measured restore point is the later of the two: a lower bound
 * backed by data found in the copy. Every migration the source applied at or before it must be
 * in the copy; one applied after it and before the request may or may not be, so either
 * outcome passes.
 */
export async function verifyRestore(
  client: Client,
  input: VerifyInput,
  criticalTables: readonly CriticalTable[],
  now: () => Date = () => new Date(),
): Promise<VerificationResult> {
  const failures: string[] = [];
  const requestedAt = Date.parse(input.requestedAt);

  let newestHeartbeat: string | null = null;
  let rpoSeconds: number | null = null;
  let heartbeatMs: number | null = null;
  if (!(await tableExists(client, 'heartbeat'))) {
    failures.push('table public.heartbeat is missing, so the recovery point cannot be measured');
  } else {
    const { rows } = await client.query<{ newest: string | null }>(
      `SELECT ${epochMs('max(recorded_at)')} AS newest FROM public.heartbeat`,
    );
    if (rows[0].newest === null) {
      failures.push(
        'public.heartbeat has no rows, so the recovery point cannot be measured: is the heartbeat writer running?',
      );
    } else {
      heartbeatMs = Number(rows[0].newest);
      newestHeartbeat = new Date(heartbeatMs).toISOString();
      rpoSeconds = seconds(requestedAt - heartbeatMs);
    }
  }
  const restorePoint = Math.max(Date.parse(input.restorePointTime), heartbeatMs ?? Number.NEGATIVE_INFINITY);
  const restorePointTime = new Date(restorePoint).toISOString();

  const expected = input.sourceMigrations.find((m) => Date.parse(m.runOn) <= restorePoint)?.name ?? null;
  // Applied after the measured point but before the request: the copy may include them.
  const mayInclude = new Set(
    input.sourceMigrations
      .filter((m) => Date.parse(m.runOn) > restorePoint && Date.parse(m.runOn) <= requestedAt)
      .map((m) => m.name),
  );
  if (expected === null) {
    failures.push(`the source had no migration applied at or before the restore point ${restorePointTime}`);
  }
  let restoredMigration: string | null = null;
  if (!(await tableExists(client, MIGRATIONS_TABLE))) {
    failures.push(`migration history table public.${MIGRATIONS_TABLE} is missing from the restored database`);
  } else {
    const { rows } = await client.query<{ name: string }>(
      `SELECT name FROM public.${MIGRATIONS_TABLE} ORDER BY id DESC LIMIT 1`,
    );
    restoredMigration = rows[0]?.name ?? null;
    if (expected !== null && restoredMigration !== expected && !mayInclude.has(restoredMigration ?? '')) {
      failures.push(
        `restored schema is at migration ${restoredMigration ?? '(none)'} but the source was at ${expected} at the restore point`,
      );
    }
  }

  const tables: TableCheck[] = [];
  for (const table of criticalTables) {
    if (!(await tableExists(client, table.name))) {
      tables.push({ name: table.name, exists: false, rows: 0, minRows: table.minRows });
      failures.push(`critical table public.${table.name} is missing from the restored database`);
      continue;
    }
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM public.${client.escapeIdentifier(table.name)}`,
    );
    const count = Number(rows[0].n);
    tables.push({ name: table.name, exists: true, rows: count, minRows: table.minRows });
    if (count < table.minRows) {
      failures.push(
        `critical table public.${table.name} has ${count} rows, fewer than the minimum ${table.minRows}`,
      );
    }
  }

  return {
    passed: failures.length === 0,
    failures,
    expectedMigration: expected,
    restoredMigration,
    tables,
    newestHeartbeat,
    restorePointTime,
    rpoSeconds,
    rtoSeconds: seconds(now().getTime() - requestedAt),
    restorePointLagSeconds: seconds(requestedAt - restorePoint),
  };
}

export interface Dependencies {
  readonly connect: ConnectFn;
  readonly env: VerifierEnvironment;
  readonly logger: Logger;
  readonly now: () => Date;
}

export function createHandler(make: () => Dependencies) {
  let deps: Dependencies | undefined;
  return async (raw: unknown, context?: Context): Promise<unknown> => {
    deps ??= make();
    const { env, logger, connect } = deps;
    const parsed = verifierEventSchema.safeParse(raw);
    if (!parsed.success) throw new UserError(`invalid event: ${z.prettifyError(parsed.error)}`);
    const event = parsed.data;
    logger.resetKeys?.();
    logger.appendKeys({ action: event.action });
    if (context) logger.addContext(context);
    const user = env.DATABASE_USER;
    const database = env.DATABASE_NAME;

    if (event.action === 'readSource') {
      const target = { host: env.PROXY_ENDPOINT, port: env.DATABASE_PORT, database, user };
      const migrations = await classifyConnectionErrors('the source database', () =>
        withConnection(connect, target, (c) => readMigrationHistory(c)),
      );
      if (migrations.length === 0) throw new FatalError('the source has no applied migrations');
      logger.info('read the source migration history', {
        latest: migrations[0].name,
        count: migrations.length,
      });
      return { migrations };
    }

    const target = { host: event.host, port: event.port, database, user };
    const now = deps.now;
    const result = await classifyConnectionErrors(`the restored copy at ${event.host}`, () =>
      withConnection(connect, target, (c) => verifyRestore(c, event, env.CRITICAL_TABLES, now)),
    );
    if (!result.passed) {
      logger.error('restored database failed verification', { ...result });
      throw new VerificationFailedError(result.failures.join('; '));
    }
    logger.info('restored database verified', { ...result });
    return result;
  };
}

export const handler = createHandler(() => ({
  connect: iamConnect(),
  env: environmentSchema.parse(process.env),
  logger: new Logger({ serviceName: 'restore-verification' }),
  now: () => new Date(),
}));
