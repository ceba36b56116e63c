/**
 * Decides whether a function version can run against the schema the live version left behind.
 *
 * Migrations are expand/contract (see DESIGN.md): an `expand` migration only adds, so older code
 * keeps working; a `contract` migration removes what older code may still use. A version built
 * before contract migration C must therefore not serve traffic once the live version's schema
 * includes C. Each published version names the newest migration it was built with in
 * `SHIPSHAPE_SCHEMA_VERSION` (e.g. `0003_accounts_and_notes`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// The header grammar is the migration runner's; only the headers are read here (no SQL bodies),
// so the CLI can judge schema compatibility from any checkout of migrations/.
import { CONTRACTS_LINE, FILE_NAME, PHASE_LINE } from '../migrations/migration-files';

export interface MigrationHeader {
  /** File name without `.sql`, e.g. `0005_drop_legacy_title`. */
  readonly name: string;
  readonly number: number;
  readonly phase: 'expand' | 'contract';
  /** For a contract migration: the expand migration it completes. */
  readonly contracts?: number;
}

/** Reads the phase headers of every `NNNN_name.sql` file in a migrations folder, in order. */
export function readMigrationHeaders(directory: string): MigrationHeader[] {
  let files: string[];
  try {
    files = readdirSync(directory);
  } catch {
    return [];
  }
  return files
    .filter((f) => FILE_NAME.test(f))
    .sort()
    .map((file) => parseMigrationHeader(file, readFileSync(join(directory, file), 'utf8')));
}

/** Parses lines 1-2 of a migration: `-- phase: expand|contract` and `-- contracts: NNNN`. */
export function parseMigrationHeader(file: string, text: string): MigrationHeader {
  const [first = '', second = ''] = text.split(/\r?\n/, 2);
  const phase = PHASE_LINE.exec(first)?.[1];
  if (phase !== 'expand' && phase !== 'contract') {
    throw new Error(`${file}: line 1 must be '-- phase: expand' or '-- phase: contract' (got '${first}')`);
  }
  // `-- contracts:` names the expand by number or by full name; its number is what counts here.
  const contracts = /^(\d{4})/.exec(CONTRACTS_LINE.exec(second)?.[1] ?? '')?.[1];
  if (phase === 'contract' && !contracts) {
    throw new Error(
      `${file}: a contract migration needs line 2 '-- contracts: NNNN' naming its expand migration`,
    );
  }
  return {
    name: file.replace(/\.sql$/, ''),
    number: Number(file.slice(0, 4)),
    phase,
    ...(contracts ? { contracts: Number(contracts) } : {}),
  };
}

/** The migration number of a `SHIPSHAPE_SCHEMA_VERSION` value, or undefined when it has none. */
export function schemaNumber(schemaVersion: string | undefined): number | undefined {
  const match = schemaVersion ? /^(\d{4})(_|$)/.exec(schemaVersion) : null;
  return match ? Number(match[1]) : undefined;
}

export type SchemaVerdict =
  { readonly compatible: true } | { readonly compatible: false; readonly reason: string };

/**
 * Whether a target version may serve traffic after the live version.
 * Incompatible when a contract migration C satisfies target < C <= live.
 */
export function checkSchemaCompatibility(
  live: { readonly version: string; readonly schema?: string },
  target: { readonly version: string; readonly schema?: string },
  migrations: readonly MigrationHeader[],
): SchemaVerdict {
  const liveNumber = schemaNumber(live.schema);
  const contracts = migrations.filter(
    (m) => m.phase === 'contract' && (liveNumber === undefined || m.number <= liveNumber),
  );
  if (contracts.length === 0) return { compatible: true };
  const targetNumber = schemaNumber(target.schema);
  if (targetNumber === undefined) {
    return {
      compatible: false,
      reason:
        `version ${target.version} does not declare SHIPSHAPE_SCHEMA_VERSION, and the live version's schema ` +
        `includes contract migration ${contracts[contracts.length - 1].name}; it cannot be shown to work with that schema`,
    };
  }
  const blocking = contracts.filter((m) => m.number > targetNumber);
  if (blocking.length === 0) return { compatible: true };
  const names = blocking.map((m) => m.name).join(', ');
  return {
    compatible: false,
    reason:
      `version ${target.version} was built for schema ${target.schema}, but the live version ${live.version} ` +
      `(schema ${live.schema ?? 'unknown'}) includes the contract migration${blocking.length === 1 ? '' : 's'} ${names}, ` +
      `which removed what version ${target.version} may still use. Roll back to a version built with ` +
      `${blocking[blocking.length - 1].name} or later, or roll forward with a fix`,
  };
}
