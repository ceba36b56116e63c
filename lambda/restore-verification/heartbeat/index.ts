import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { Client } from 'pg';
import { z } from 'zod';
import { type ConnectFn, iamConnect, withConnection } from '../../runtime/iam-connect';

/**
 * Inserts one `heartbeat` row through the RDS Proxy as `app` (IAM token, TLS). Run on a schedule,
 * it leaves a timestamp trail in the database, so the newest heartbeat found in a restore
 * measures the real recovery point.
 */

const environmentSchema = z.object({
  PROXY_ENDPOINT: z.string().min(1),
  DATABASE_NAME: z.string().min(1),
  DATABASE_USER: z.string().min(1),
  DATABASE_PORT: z.coerce.number().int().positive().default(5432),
  HEARTBEAT_SOURCE: z.string().min(1).default('heartbeat-writer'),
});
export type HeartbeatEnvironment = z.infer<typeof environmentSchema>;

export interface Heartbeat {
  readonly id: string;
  readonly recordedAt: string;
}

export async function writeHeartbeat(client: Client, source: string): Promise<Heartbeat> {
  const { rows } = await client.query<{ id: string; recorded_at: Date }>(
    'INSERT INTO public.heartbeat (source) VALUES ($1) RETURNING id, recorded_at',
    [source],
  );
  return { id: String(rows[0].id), recordedAt: rows[0].recorded_at.toISOString() };
}

export interface Dependencies {
  readonly connect: ConnectFn;
  readonly env: HeartbeatEnvironment;
  readonly logger: Logger;
}

export function createHandler(make: () => Dependencies) {
  let deps: Dependencies | undefined;
  // Scheduler sends its own payload; nothing in it is used, so it is not validated.
  return async (_event: unknown, context?: Context): Promise<Heartbeat> => {
    deps ??= make();
    const { env, logger } = deps;
    if (context) logger.addContext(context);
    const target = {
      host: env.PROXY_ENDPOINT,
      port: env.DATABASE_PORT,
      database: env.DATABASE_NAME,
      user: env.DATABASE_USER,
    };
    const heartbeat = await withConnection(deps.connect, target, (c) =>
      writeHeartbeat(c, env.HEARTBEAT_SOURCE),
    );
    logger.info('heartbeat written', { ...heartbeat });
    return heartbeat;
  };
}

export const handler = createHandler(() => ({
  connect: iamConnect({ connectMs: 5_000, statementMs: 5_000 }),
  env: environmentSchema.parse(process.env),
  logger: new Logger({ serviceName: 'heartbeat-writer' }),
}));
