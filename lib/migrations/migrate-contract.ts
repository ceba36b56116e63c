/**
 * What the migration runner ({@link migrate}) promises its callers (CLI, deploy hook, tests):
 * the history table and lock, the options, the result, and the errors. No CDK imports: the
 * deploy hook Lambda bundles this module.
 */
import type { ClientConfig } from 'pg';
import type { MigrationPhase } from './migration-files';

/** Fully qualified name of the history table (shared contract). */
export const MIGRATIONS_TABLE = 'public.shipshape_migrations';
/** Session advisory lock that keeps two runners off one database ("SHIPSHAP" in ASCII). */
export const MIGRATION_LOCK_ID = '6001986360245585232';
/** `to` value that, for `down`, means "revert everything". */
export const BEFORE_FIRST_MIGRATION = '0000';

export const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;

export type MigrationDirection = 'up' | 'down';
/** A connection string (`postgres://…`) or a `pg` client config (e.g. with an IAM token as password). */
export type MigrationConnection = string | ClientConfig;

/** Attributes of a log line; plain JSON values. */
export type MigrationLogAttributes = Record<string, string | number | boolean | string[] | undefined>;

/** Structured logger; Powertools' `Logger` fits as is. */
export interface MigrationLogger {
  info(message: string, ...attributes: MigrationLogAttributes[]): void;
  warn(message: string, ...attributes: MigrationLogAttributes[]): void;
}

export interface MigrateOptions {
  readonly direction: MigrationDirection;
  readonly connection: MigrationConnection;
  /**
   * Up: apply pending migrations up to and including this one. Down: revert every applied
   * migration numbered after this one (`'0000'` reverts all). A full name or a number.
   * @default - up: all pending; down: see `count`
   */
  readonly to?: string;
  /**
   * At most this many migrations.
   * @default - up: all pending; down: 1 (unless `to` is given)
   */
  readonly count?: number;
  /**
   * Up only: apply only migrations of these phases; the others stay pending and are reported
   * as skipped. The deploy hook passes `['expand']`.
   * @default - every phase
   */
  readonly phases?: readonly MigrationPhase[];
  /**
   * `SET LOCAL lock_timeout` for each migration, in milliseconds: a statement that waits longer
   * for a lock fails (and the migration rolls back) instead of queueing all traffic behind it.
   * @default 5000
   */
  readonly lockTimeout?: number;
  /**
   * `SET LOCAL statement_timeout` for each migration, in milliseconds.
   * @default 60000
   */
  readonly statementTimeout?: number;
  /**
   * Compute and return the plan without changing anything (the history table is not created).
   * @default false
   */
  readonly dryRun?: boolean;
  /** @default - no logging */
  readonly logger?: MigrationLogger;
  /**
   * Directory of the migration files.
   * @default - see defaultMigrationsDir()
   */
  readonly dir?: string;
}

/** One migration the run applied (up) or reverted (down), or would have (dry run). */
export interface MigrationStep {
  readonly name: string;
  readonly phase: MigrationPhase;
  readonly contracts?: string;
  /** Wall time of the migration's transaction; 0 in a dry run. */
  readonly durationMs: number;
}

export interface SkippedMigration {
  readonly name: string;
  readonly phase: MigrationPhase;
  readonly reason: string;
}

export interface MigrateResult {
  readonly direction: MigrationDirection;
  readonly dryRun: boolean;
  /** In order, the migrations whose up (or, going down, whose down) section ran. */
  readonly applied: readonly MigrationStep[];
  /** Pending migrations held back by `phases`. */
  readonly skipped: readonly SkippedMigration[];
}

/** The options or the requested plan are impossible; nothing was changed. */
export class MigrationPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationPlanError';
  }
}

/** Another runner holds the migration lock on this database; nothing was changed. */
export class MigrationLockError extends Error {
  constructor() {
    super(
      'Another migration run holds the lock on this database (pg_try_advisory_lock ' +
        `${MIGRATION_LOCK_ID}); nothing was changed. Retry when it has finished.`,
    );
    this.name = 'MigrationLockError';
  }
}

/** A migration failed. Its transaction was rolled back; the ones before it (in `completed`) stay. */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration: string,
    readonly direction: MigrationDirection,
    /** PostgreSQL SQLSTATE, e.g. `55P03` for a lock timeout, `57014` for a statement timeout. */
    readonly code: string | undefined,
    readonly completed: readonly MigrationStep[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }

  /** True when the migration gave up waiting for a lock (retry later, when traffic is lower). */
  get isLockTimeout(): boolean {
    return this.code === '55P03';
  }

  /** True when a statement ran longer than the statement timeout. */
  get isStatementTimeout(): boolean {
    return this.code === '57014';
  }
}

export interface MigrationStatusEntry {
  readonly name: string;
  readonly phase: MigrationPhase;
  readonly contracts?: string;
  readonly state: 'applied' | 'pending';
  /** @default - undefined while pending */
  readonly appliedAt?: Date;
  /** The file changed after it was applied (its checksum differs from the recorded one). */
  readonly modified: boolean;
}

export interface MigrationStatus {
  /** Every migration file, in order, with its state. */
  readonly migrations: readonly MigrationStatusEntry[];
  /** Applied migrations with no file here: the database is ahead of this code (e.g. after a code rollback). */
  readonly unknownApplied: ReadonlyArray<{ readonly name: string; readonly appliedAt: Date }>;
}
