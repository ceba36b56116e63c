import type { Client } from 'pg';
import { iamConnect, type PostgresTimeouts } from './iam-connect';
import { z } from 'zod';

/** Where and as whom a function connects: read from its environment, set by the construct. */
const settingsSchema = z.object({
  DB_PROXY_ENDPOINT: z.string().min(1),
  DB_PORT: z.coerce.number().int().min(1).max(65_535).default(5432),
  DB_NAME: z.string().min(1),
  DB_USER: z.string().min(1),
  AWS_REGION: z.string().min(1),
});

export type DatabaseSettings = z.infer<typeof settingsSchema>;

/** Reads the connection settings from the environment. @throws naming every missing variable. */
export function databaseSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseSettings {
  const result = settingsSchema.safeParse(env);
  if (!result.success) throw new Error(`database settings: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** Opens a connected client; injected so tests can hand in a local PostgreSQL. */
export type ConnectDatabase = () => Promise<Client>;

/**
 * Connects through the RDS Proxy with end-to-end IAM authentication: a 15-minute token signed
 * with the function's role for `DB_USER` (no password anywhere), TLS with certificate
 * verification (the proxy's certificate chains to Amazon's public CAs in Node's trust store),
 * and timeouts on connecting, on every statement and on every query round trip
 * ({@link iamConnect}, shared with the restore-verification functions).
 */
export function iamDatabaseConnector(
  settings: DatabaseSettings,
  timeouts: PostgresTimeouts = { connectMs: 5_000, statementMs: 10_000 },
): ConnectDatabase {
  const connect = iamConnect(timeouts);
  const target = {
    host: settings.DB_PROXY_ENDPOINT,
    port: settings.DB_PORT,
    database: settings.DB_NAME,
    user: settings.DB_USER,
  };
  return () => connect(target);
}
