/**
 * Pipeline gate: every migration in migrations/ declares its phase (`-- phase: expand|contract`,
 * a contract naming its expand), has a non-empty `-- Down Migration` (is reversible) and follows
 * the file-name rules. `loadMigrations` enforces all of it and lists every problem.
 *
 *   npx tsx scripts/check-migrations.ts [dir]
 */
import { loadMigrations, MigrationFileError } from '../lib/migrations';

try {
  const migrations = loadMigrations(process.argv[2]);
  for (const m of migrations) {
    console.log(`ok  ${m.name}  ${m.phase}${m.contracts ? ` (contracts ${m.contracts})` : ''}  reversible`);
  }
  console.log(`${migrations.length} migrations declare their phase and are reversible`);
} catch (error) {
  if (!(error instanceof MigrationFileError)) throw error;
  console.error(error.message);
  process.exit(1);
}
