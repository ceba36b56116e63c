/**
 * What every published version of the API declares about the schema it needs, in its Lambda
 * configuration, so that `shipshape rollback` decides schema safety from deployed state only
 * (lib/cli/schema-compatibility.ts reads it back with GetFunctionConfiguration).
 */
import { loadMigrations, type Migration } from '../migrations/migration-files';
import {
  formatSchemaContracts,
  SCHEMA_CONTRACTS_VARIABLE,
  SCHEMA_VERSION_VARIABLE,
  schemaNumber,
} from '../cli/schema-compatibility';

/**
 * `SHIPSHAPE_SCHEMA_VERSION` (the newest migration, or `schemaVersion`) and
 * `SHIPSHAPE_SCHEMA_CONTRACTS` (the contract migrations up to it, `0005:0004,...` or `none`).
 * With an explicit `schemaVersion` and no readable migrations, the contracts are left out: the
 * CLI then refuses rollbacks it cannot prove safe (fail closed) instead of guessing.
 */
export function schemaDeclaration(
  schemaVersion: string | undefined,
  directory?: string,
): Record<string, string> {
  let migrations: Migration[];
  try {
    migrations = loadMigrations(directory);
  } catch (error) {
    if (schemaVersion === undefined) throw error;
    return { [SCHEMA_VERSION_VARIABLE]: schemaVersion };
  }
  const newest = migrations[migrations.length - 1];
  if (!newest && schemaVersion === undefined) {
    throw new Error('Service: migrations/ holds no migration; set schemaVersion explicitly');
  }
  const version = schemaVersion ?? newest.name;
  const upTo = schemaNumber(version) ?? Number.POSITIVE_INFINITY;
  const contracts = migrations
    .filter((m) => m.phase === 'contract' && m.contracts !== undefined && Number(m.number) <= upTo)
    .map((m) => ({ number: Number(m.number), contracts: Number(m.contracts!.slice(0, 4)) }));
  return {
    [SCHEMA_VERSION_VARIABLE]: version,
    [SCHEMA_CONTRACTS_VARIABLE]: formatSchemaContracts(contracts),
  };
}
