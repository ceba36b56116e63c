/**
 * Jest's global setup: prebundles the Lambda handlers when a source changed since the last build
 * (the constructs point at `dist/handlers`, and a clean clone has none), then builds the migrated
 * PostgreSQL template database. The build's staleness check costs milliseconds when nothing changed.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import postgresGlobalSetup from './postgres-global-setup';

export default async function globalSetup(): Promise<void> {
  const root = join(__dirname, '..', '..');
  execFileSync(
    process.execPath,
    [join(root, 'scripts', 'build.mjs'), '--handlers', '--if-stale', '--quiet'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  await postgresGlobalSetup();
}
