/**
 * Decides whether a function version can run against the schema the live version may have left
 * behind, from what the *deployed* versions declare, never from a local checkout.
 *
 * Migrations are expand/contract (see DESIGN.md): an `expand` migration only adds, so older code
 * keeps working; a `contract` migration removes what older code may still use. Every published
 * version carries, in its Lambda configuration (set by `Service` at synth from migrations/):
 * - `SHIPSHAPE_SCHEMA_VERSION`: the newest migration it was built with, e.g. `0005_drop_title`;
 * - `SHIPSHAPE_SCHEMA_CONTRACTS`: the contract migrations its build includes, each with the
 *   expand migration it completes, `0005:0004,0007:0006`, or `none`.
 * A contract migration C in the live version's build may have been applied, so a target built
 * before C (its schema number below C) must not serve traffic. When a declaration is missing or
 * garbled, or the configuration cannot be read, the answer is "unknown": callers refuse (fail
 * closed) unless the operator overrides with a reason.
 */

/** Env var: the newest migration a version was built with (shared contract with `Service`). */
export const SCHEMA_VERSION_VARIABLE = 'SHIPSHAPE_SCHEMA_VERSION';
/** Env var: the contract migrations a version's build includes (shared contract with `Service`). */
export const SCHEMA_CONTRACTS_VARIABLE = 'SHIPSHAPE_SCHEMA_CONTRACTS';
/** The value of {@link SCHEMA_CONTRACTS_VARIABLE} for a build without contract migrations. */
export const NO_CONTRACTS = 'none';

/** One contract migration a build includes: its number and the expand migration it completes. */
export interface ContractDeclaration {
  readonly number: number;
  readonly contracts: number;
}

const PAIR = /^(\d{4}):(\d{4})$/;

/** `[{number: 5, contracts: 4}]` → `0005:0004`; an empty list → `none`. */
export function formatSchemaContracts(contracts: readonly ContractDeclaration[]): string {
  if (contracts.length === 0) return NO_CONTRACTS;
  const pad = (n: number) => String(n).padStart(4, '0');
  return contracts.map((c) => `${pad(c.number)}:${pad(c.contracts)}`).join(',');
}

/** Parses {@link SCHEMA_CONTRACTS_VARIABLE}; undefined when it is missing or garbled. */
export function parseSchemaContracts(value: string | undefined): ContractDeclaration[] | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === NO_CONTRACTS) return [];
  const parts = text.split(',').map((p) => PAIR.exec(p.trim()));
  if (text === '' || parts.some((p) => !p)) return undefined;
  const list = parts.map((p) => ({ number: Number(p![1]), contracts: Number(p![2]) }));
  return list.some((c) => c.contracts >= c.number) ? undefined : list;
}

/** The migration number of a `SHIPSHAPE_SCHEMA_VERSION` value, or undefined when it has none. */
export function schemaNumber(schemaVersion: string | undefined): number | undefined {
  const match = schemaVersion ? /^(\d{4})(_|$)/.exec(schemaVersion) : null;
  return match ? Number(match[1]) : undefined;
}

/** What one published version declares, as read from its configuration. */
export interface VersionDeclaration {
  readonly version: string;
  /** `SHIPSHAPE_SCHEMA_VERSION`, when set. */
  readonly schema?: string;
  /** `SHIPSHAPE_SCHEMA_CONTRACTS`, when set (raw). */
  readonly contracts?: string;
  /** Why the configuration could not be read (API error), when it could not. */
  readonly readError?: string;
}

export type SchemaVerdict =
  | { readonly verdict: 'compatible'; readonly detail: string }
  | { readonly verdict: 'incompatible'; readonly reason: string }
  | { readonly verdict: 'unknown'; readonly reason: string };

/**
 * Whether `target` may serve traffic after `live`: incompatible when the live build includes a
 * contract migration C with target schema < C; unknown when a needed declaration is missing,
 * garbled or unreadable.
 */
export function checkSchemaCompatibility(
  live: VersionDeclaration,
  target: VersionDeclaration,
): SchemaVerdict {
  if (live.readError) {
    return unknown(
      `the configuration of the live version ${live.version} could not be read (${live.readError})`,
    );
  }
  const contracts = parseSchemaContracts(live.contracts);
  if (!contracts) {
    return unknown(
      `the live version ${live.version} ${describeDeclaration(live.contracts)} ${SCHEMA_CONTRACTS_VARIABLE}, so ` +
        'which contract migrations may have been applied is unknown',
    );
  }
  if (contracts.length === 0) {
    return {
      verdict: 'compatible',
      detail: `the live version ${live.version} (schema ${live.schema ?? 'unknown'}) includes no contract migration`,
    };
  }
  if (target.readError) {
    return unknown(`the configuration of version ${target.version} could not be read (${target.readError})`);
  }
  const targetNumber = schemaNumber(target.schema);
  if (targetNumber === undefined) {
    return unknown(
      `version ${target.version} ${describeDeclaration(target.schema)} ${SCHEMA_VERSION_VARIABLE}, and the live ` +
        `version ${live.version} includes contract migration${contracts.length === 1 ? '' : 's'} ` +
        `${contracts.map((c) => pad(c.number)).join(', ')}`,
    );
  }
  const blocking = contracts.filter((c) => c.number > targetNumber);
  if (blocking.length === 0) {
    return {
      verdict: 'compatible',
      detail:
        `version ${target.version} (schema ${target.schema}) was built with every contract migration the live ` +
        `version ${live.version} includes (${contracts.map((c) => pad(c.number)).join(', ')})`,
    };
  }
  const names = blocking.map((c) => `${pad(c.number)} (completes ${pad(c.contracts)})`).join(', ');
  return {
    verdict: 'incompatible',
    reason:
      `version ${target.version} was built for schema ${target.schema}, but the live version ${live.version} ` +
      `(schema ${live.schema ?? 'unknown'}) includes the contract migration${blocking.length === 1 ? '' : 's'} ${names}, ` +
      `which may have removed what version ${target.version} still uses. Roll back to a version built with ` +
      `${pad(blocking[blocking.length - 1].number)} or later (--to), or roll forward with a fix`,
  };
}

function unknown(reason: string): SchemaVerdict {
  return { verdict: 'unknown', reason };
}

function describeDeclaration(value: string | undefined): string {
  return value === undefined ? 'does not declare' : `declares an unreadable '${value.slice(0, 60)}' as`;
}

function pad(n: number): string {
  return String(n).padStart(4, '0');
}
