import { createHash } from 'node:crypto';

/**
 * The contract between the RestoreVerification construct, its state machine and its handlers.
 * Plain TypeScript (no CDK, no AWS SDK) so both sides can import it.
 */

/** Tag keys on every throwaway instance: how the janitor, IAM conditions and billing find it. */
export const RESTORE_TAGS = {
  purpose: 'shipshape:purpose',
  runId: 'shipshape:run-id',
  restorePoint: 'shipshape:restore-point',
  requestedAt: 'shipshape:requested-at',
} as const;

/** Value of the `shipshape:purpose` tag. */
export const RESTORE_PURPOSE = 'restore-verification';

/** CloudWatch namespace of the Success, RtoSeconds and RpoSeconds metrics. */
export const RESTORE_METRICS_NAMESPACE = 'Shipshape/RestoreVerification';

/** The longest DB instance identifier RDS accepts. */
const MAX_IDENTIFIER_LENGTH = 63;
const HASH_LENGTH = 8;

/** A prefix usable for DB instance identifiers: starts with a letter, lowercase, ends with `-`. */
export const IDENTIFIER_PREFIX_PATTERN = /^[a-z](?:[a-z0-9]|-(?!-)){0,28}-$/;

/**
 * The throwaway instance's identifier for one run: the prefix, a readable slug of the execution
 * name and a hash of the full name. The same execution always maps to the same identifier, so a
 * retried restore can never create a second instance; two executions never collide.
 */
export function throwawayInstanceIdentifier(prefix: string, executionName: string): string {
  if (!IDENTIFIER_PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `invalid identifier prefix '${prefix}': use lowercase letters, digits and single hyphens, ending with '-'`,
    );
  }
  const hash = createHash('sha256').update(executionName).digest('hex').slice(0, HASH_LENGTH);
  const room = MAX_IDENTIFIER_LENGTH - prefix.length - HASH_LENGTH - 1;
  const slug = executionName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, room)
    .replace(/-+$/, '');
  return slug ? `${prefix}${slug}-${hash}` : `${prefix}${hash}`;
}

/** A table that must exist in the restored database with at least `minRows` rows. */
export interface CriticalTable {
  /** Table name in schema `public`, lower case. */
  readonly name: string;
  /** Fewest rows the restored table may hold. */
  readonly minRows: number;
}

/** A lower-case, unquoted table name in schema `public` (PostgreSQL identifiers: 63 bytes). */
export const CRITICAL_TABLE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
