/**
 * jest globalSetup: builds the migrated template database once per run (test files then clone
 * it in milliseconds) and drops test databases that crashed runs left behind. When PostgreSQL is
 * not reachable it only warns: construct tests need no database, and database tests fail on
 * their own with the connection error.
 */
import { dropStaleTestDatabases, ensureMigratedTemplate, TEST_DATABASE_URL } from './postgres';

export default async function globalSetup(): Promise<void> {
  try {
    await dropStaleTestDatabases();
    await ensureMigratedTemplate();
  } catch (error) {
    const where = new URL(TEST_DATABASE_URL);
    where.password = '';
    console.warn(
      `jest globalSetup: could not prepare the test database template on ${where.host} ` +
        `(${error instanceof Error ? error.message : String(error)}); database tests will fail. ` +
        'Start the servers with `bash scripts/services.sh`.',
    );
  }
}
