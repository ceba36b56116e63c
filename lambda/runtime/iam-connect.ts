import { Signer } from '@aws-sdk/rds-signer';
import { Client } from 'pg';

/** Where and as whom to connect. */
export interface PostgresTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** Opens a connected client for a target. Injected so tests can use password auth locally. */
export type ConnectFn = (target: PostgresTarget) => Promise<Client>;

/** Bounds on every database round trip (milliseconds). */
export interface PostgresTimeouts {
  readonly connectMs: number;
  readonly statementMs: number;
}

const DEFAULT_TIMEOUTS: PostgresTimeouts = { connectMs: 5_000, statementMs: 15_000 };

/**
 * Connects with an IAM authentication token signed by `@aws-sdk/rds-signer` (no password is
 * stored anywhere) over TLS with certificate verification. The Lambda runtime trusts the RDS
 * certificate authorities when `NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem` is set.
 */
export function iamConnect(timeouts: PostgresTimeouts = DEFAULT_TIMEOUTS): ConnectFn {
  return async (target) => {
    const signer = new Signer({
      hostname: target.host,
      port: target.port,
      username: target.user,
      region: process.env.AWS_REGION,
    });
    const client = new Client({
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      password: await signer.getAuthToken(),
      ssl: { rejectUnauthorized: true },
      connectionTimeoutMillis: timeouts.connectMs,
      statement_timeout: timeouts.statementMs,
      query_timeout: timeouts.statementMs + 1_000,
      application_name: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'shipshape',
    });
    await client.connect();
    return client;
  };
}

/** Runs `work` on a fresh connection and always closes it. */
export async function withConnection<T>(
  connect: ConnectFn,
  target: PostgresTarget,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = await connect(target);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
