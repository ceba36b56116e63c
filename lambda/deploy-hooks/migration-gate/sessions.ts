/**
 * The gate's database sessions, tagged so that they can be ended from outside: when the hook's
 * time budget is spent it reports Failed and Lambda freezes it, but a migration transaction it
 * started would run on (and could even commit after the verdict). Terminating the tagged
 * backends rolls the open transaction back and releases its locks and the session advisory lock
 * (https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADMIN-SIGNAL: a role
 * may terminate backends of roles it is a member of; the gate's sessions are its own user's).
 */
import { Client, type ClientConfig } from 'pg';

/** `application_name` of the gate's sessions for one deployment. */
export function gateApplicationName(deploymentId: string): string {
  return `shipshape-migration-gate ${deploymentId}`;
}

/** Terminates every other session named `applicationName`; returns how many were ended. */
export async function terminateSessions(connection: ClientConfig, applicationName: string): Promise<number> {
  const client = new Client({
    ...connection,
    application_name: `${applicationName} (stop)`,
    connectionTimeoutMillis: 2_000,
  });
  await client.connect();
  try {
    const result = await client.query<{ ended: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [applicationName],
    );
    return result.rows.filter((r) => r.ended).length;
  } finally {
    await client.end().catch(() => undefined);
  }
}
