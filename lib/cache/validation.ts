// Validation of Cache's props at synth time: every error names the construct, the value received
// and what is allowed. Values that are unresolved tokens are skipped.
import { Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { dailyOverlapsWeekly, parseDailyWindow, parseWeeklyWindow } from '../shared/time-windows';

const NODE_TYPE = /^cache\.[a-z0-9]+\.[a-z0-9]+$/;

/** Throws when a prop of the Cache at `scope` is out of range. */
export function validateCache(
  scope: Construct,
  v: {
    nodeType: string;
    replicas: number;
    engineVersion: string;
    snapshotRetentionDays: number;
    snapshotWindow: string;
    maintenanceWindow: string;
  },
): void {
  const fail = (message: string): never => {
    throw new Error(`Cache '${scope.node.path}': ${message}`);
  };
  const known = (x: number | string) => !Token.isUnresolved(x);

  if (known(v.nodeType) && !NODE_TYPE.test(v.nodeType)) {
    fail(`nodeType must be an ElastiCache node type such as 'cache.t4g.micro', got '${v.nodeType}'`);
  }
  if (known(v.replicas) && (!Number.isInteger(v.replicas) || v.replicas < 0 || v.replicas > 5)) {
    fail(`replicas must be a whole number between 0 and 5, got ${v.replicas}`);
  }
  if (known(v.engineVersion) && !/^8(\.\d+)?$/.test(v.engineVersion)) {
    fail(`engineVersion must be a Valkey 8.x version such as '8.1', got '${v.engineVersion}'`);
  }
  if (
    known(v.snapshotRetentionDays) &&
    (!Number.isInteger(v.snapshotRetentionDays) ||
      v.snapshotRetentionDays < 0 ||
      v.snapshotRetentionDays > 35)
  ) {
    fail(`snapshotRetentionDays must be a whole number between 0 and 35, got ${v.snapshotRetentionDays}`);
  }
  const snapshot = known(v.snapshotWindow) ? parseDailyWindow(v.snapshotWindow) : undefined;
  if (known(v.snapshotWindow) && (!snapshot || snapshot.length < 60)) {
    fail(
      `snapshotWindow must look like '01:00-02:00' (UTC) and last at least 60 minutes, got '${v.snapshotWindow}'`,
    );
  }
  const maintenance = known(v.maintenanceWindow) ? parseWeeklyWindow(v.maintenanceWindow) : undefined;
  if (known(v.maintenanceWindow) && (!maintenance || maintenance.length < 60)) {
    fail(
      `preferredMaintenanceWindow must look like 'sun:03:30-sun:04:30' (UTC) and last at least 60 minutes, got '${v.maintenanceWindow}'`,
    );
  }
  if (snapshot && maintenance && dailyOverlapsWeekly(snapshot, maintenance)) {
    fail(
      `snapshotWindow '${v.snapshotWindow}' overlaps preferredMaintenanceWindow '${v.maintenanceWindow}'; move one of them so they do not overlap`,
    );
  }
}
