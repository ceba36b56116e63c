// Validation of Database's props at synth time, and the instance identifier rules: every error names the construct, the value
// received and what is allowed. Values that are unresolved tokens are skipped.
import { Names, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { dailyOverlapsWeekly, parseDailyWindow, parseWeeklyWindow } from '../shared/time-windows';

const DB_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
const INSTANCE_IDENTIFIER = /^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$/;
const MONITORING_INTERVALS = [1, 5, 10, 15, 30, 60];

/** Throws when a prop of the Database at `scope` is out of range. */
export function validateDatabase(
  scope: Construct,
  v: {
    allocatedGiB: number;
    maxAllocatedGiB: number;
    backupRetentionDays: number;
    backupWindow: string;
    maintenanceWindow: string;
    rotationDays: number;
    monitoringSeconds: number;
    slowQueryMillis: number;
    idleInTransactionMillis: number;
    maxConnectionsPercent: number;
    maxIdleConnectionsPercent: number;
    borrowTimeoutSeconds: number;
    idleClientTimeoutSeconds: number;
    instanceIdentifier: string;
    databaseName: string;
    masterUsername: string;
  },
): void {
  const fail = (message: string): never => {
    throw new Error(`Database '${scope.node.path}': ${message}`);
  };
  const known = (x: number | string) => !Token.isUnresolved(x);

  if (known(v.allocatedGiB) && (v.allocatedGiB < 20 || v.allocatedGiB > 65_536)) {
    fail(`allocatedStorage must be between 20 and 65536 GiB, got ${v.allocatedGiB} GiB`);
  }
  if (known(v.maxAllocatedGiB) && known(v.allocatedGiB) && v.maxAllocatedGiB < v.allocatedGiB) {
    fail(
      `maxAllocatedStorage (${v.maxAllocatedGiB} GiB) must be at least allocatedStorage (${v.allocatedGiB} GiB); raise it to let storage autoscale`,
    );
  }
  if (
    known(v.backupRetentionDays) &&
    (!Number.isInteger(v.backupRetentionDays) || v.backupRetentionDays < 1 || v.backupRetentionDays > 35)
  ) {
    fail(
      `backupRetention must be a whole number of days between 1 and 35 (0 would turn off point-in-time recovery), got ${v.backupRetentionDays} days`,
    );
  }
  const backup = known(v.backupWindow) ? parseDailyWindow(v.backupWindow) : undefined;
  if (known(v.backupWindow) && (!backup || backup.length < 30)) {
    fail(
      `preferredBackupWindow must look like '01:00-02:00' (UTC) and last at least 30 minutes, got '${v.backupWindow}'`,
    );
  }
  const maintenance = known(v.maintenanceWindow) ? parseWeeklyWindow(v.maintenanceWindow) : undefined;
  if (known(v.maintenanceWindow) && (!maintenance || maintenance.length < 30)) {
    fail(
      `preferredMaintenanceWindow must look like 'sun:02:30-sun:03:30' (UTC) and last at least 30 minutes, got '${v.maintenanceWindow}'`,
    );
  }
  if (backup && maintenance && dailyOverlapsWeekly(backup, maintenance)) {
    fail(
      `preferredBackupWindow '${v.backupWindow}' overlaps preferredMaintenanceWindow '${v.maintenanceWindow}'; move one of them so they do not overlap`,
    );
  }
  if (
    known(v.rotationDays) &&
    (!Number.isInteger(v.rotationDays) || v.rotationDays < 1 || v.rotationDays > 1000)
  ) {
    fail(`secretRotation must be a whole number of days between 1 and 1000, got ${v.rotationDays} days`);
  }
  if (known(v.monitoringSeconds) && !MONITORING_INTERVALS.includes(v.monitoringSeconds)) {
    fail(
      `monitoringInterval must be one of ${MONITORING_INTERVALS.join(', ')} seconds, got ${v.monitoringSeconds} seconds`,
    );
  }
  if (known(v.slowQueryMillis) && !Number.isInteger(v.slowQueryMillis)) {
    fail(`slowQueryThreshold must be a whole number of milliseconds, got ${v.slowQueryMillis} ms`);
  }
  if (
    known(v.idleInTransactionMillis) &&
    (!Number.isInteger(v.idleInTransactionMillis) || v.idleInTransactionMillis < 1000)
  ) {
    fail(
      `idleInTransactionTimeout must be a whole number of milliseconds of at least 1 second, got ${v.idleInTransactionMillis} ms`,
    );
  }
  if (known(v.maxConnectionsPercent) && (v.maxConnectionsPercent < 1 || v.maxConnectionsPercent > 100)) {
    fail(`proxy.maxConnectionsPercent must be between 1 and 100, got ${v.maxConnectionsPercent}`);
  }
  if (
    known(v.maxIdleConnectionsPercent) &&
    known(v.maxConnectionsPercent) &&
    (v.maxIdleConnectionsPercent < 0 || v.maxIdleConnectionsPercent > v.maxConnectionsPercent)
  ) {
    fail(
      `proxy.maxIdleConnectionsPercent must be between 0 and maxConnectionsPercent (${v.maxConnectionsPercent}), got ${v.maxIdleConnectionsPercent}`,
    );
  }
  if (known(v.borrowTimeoutSeconds) && (v.borrowTimeoutSeconds < 1 || v.borrowTimeoutSeconds > 3600)) {
    fail(`proxy.borrowTimeout must be between 1 second and 1 hour, got ${v.borrowTimeoutSeconds} seconds`);
  }
  if (
    known(v.idleClientTimeoutSeconds) &&
    (v.idleClientTimeoutSeconds < 60 || v.idleClientTimeoutSeconds > 28_800)
  ) {
    fail(
      `proxy.idleClientTimeout must be between 1 minute and 8 hours, got ${v.idleClientTimeoutSeconds} seconds`,
    );
  }
  if (
    known(v.instanceIdentifier) &&
    (!INSTANCE_IDENTIFIER.test(v.instanceIdentifier) || v.instanceIdentifier.length > 54)
  ) {
    fail(
      `instanceIdentifier must be lower-case letters, digits and single hyphens, start with a letter, not end with a hyphen, ` +
        `and be at most 54 characters (the proxy adds '-proxy'), got '${v.instanceIdentifier}'`,
    );
  }
  for (const [field, value] of [
    ['databaseName', v.databaseName],
    ['masterUsername', v.masterUsername],
  ] as const) {
    if (known(value) && (!DB_NAME.test(value) || value === 'postgres' || value.startsWith('rds'))) {
      fail(
        `${field} must start with a letter, contain only letters, digits and _, be at most 63 characters ` +
          `and not be 'postgres' or start with 'rds' (reserved by RDS), got '${value}'`,
      );
    }
  }
}

/** A valid DB instance identifier from the construct path: lower case, single hyphens. */
export function defaultIdentifier(scope: Construct): string {
  const name = Names.uniqueResourceName(scope, { maxLength: 54, separator: '-' })
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  return name.slice(0, 54).replace(/-+$/, '');
}
