// Validation of RestoreVerification's props at synth time: every error names the construct, the
// value received and what is allowed. Values that are unresolved tokens are skipped.
import { type Duration, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  CRITICAL_TABLE_NAME_PATTERN,
  type CriticalTable,
  IDENTIFIER_PREFIX_PATTERN,
} from '../../lambda/shared/restore-verification';

/** Throws when a prop of the RestoreVerification at `scope` is out of range. */
export function validateRestoreVerification(
  scope: Construct,
  v: {
    schedulePeriod: Duration;
    restoreTimeout: Duration;
    pollInterval: Duration;
    criticalTables: CriticalTable[];
    rpoTarget: Duration;
    heartbeatInterval: Duration;
    stateMachineTimeout: Duration;
    orphanMaxAge: Duration;
    prefix: string;
    runbookUrl: string;
  },
): void {
  const fail = (what: string) => {
    throw new Error(`RestoreVerification '${scope.node.path}': ${what}`);
  };
  const known = (d: Duration) => !Token.isUnresolved(d.toSeconds({ integral: false }));
  if (known(v.restoreTimeout) && (v.restoreTimeout.toMinutes() < 15 || v.restoreTimeout.toMinutes() > 720)) {
    fail(
      `restoreTimeout must be between 15 minutes and 12 hours (RDS restores take 10+ minutes), got ${v.restoreTimeout.toHumanString()}`,
    );
  }
  if (
    known(v.pollInterval) &&
    (v.pollInterval.toSeconds() < 10 || v.pollInterval.toSeconds() >= v.restoreTimeout.toSeconds())
  ) {
    fail(
      `pollInterval must be at least 10 seconds and shorter than restoreTimeout, got ${v.pollInterval.toHumanString()}`,
    );
  }
  if (
    known(v.heartbeatInterval) &&
    (v.heartbeatInterval.toSeconds() < 60 || v.heartbeatInterval.toSeconds() % 60 !== 0)
  ) {
    fail(
      `heartbeatInterval must be a whole number of minutes (Scheduler rates), got ${v.heartbeatInterval.toHumanString()}`,
    );
  }
  if (
    known(v.rpoTarget) &&
    known(v.heartbeatInterval) &&
    v.rpoTarget.toSeconds() <= v.heartbeatInterval.toSeconds()
  ) {
    fail(
      `rpoTarget (${v.rpoTarget.toHumanString()}) must exceed heartbeatInterval (${v.heartbeatInterval.toHumanString()}): ` +
        'the RPO is measured in heartbeats, so the alarm would always fire; lower the interval or raise the target',
    );
  }
  if (known(v.orphanMaxAge) && v.orphanMaxAge.toSeconds() <= v.stateMachineTimeout.toSeconds()) {
    fail(
      `orphanMaxAge (${v.orphanMaxAge.toHumanString()}) must exceed the state machine timeout ` +
        `(${v.stateMachineTimeout.toHumanString()}) so the janitor never deletes the instance of a live run`,
    );
  }
  if (!Token.isUnresolved(v.prefix) && !IDENTIFIER_PREFIX_PATTERN.test(v.prefix)) {
    fail(
      `instanceIdentifierPrefix '${v.prefix}' is not a valid RDS identifier prefix: use 2-30 lowercase letters, ` +
        "digits and single hyphens, starting with a letter and ending with '-' (e.g. 'shipshape-rv-')",
    );
  }
  if (v.criticalTables.length === 0) {
    fail(
      'criticalTables is empty: list at least one table the restore must contain, e.g. { name: "heartbeat", minRows: 1 }',
    );
  }
  const seen = new Set<string>();
  for (const t of v.criticalTables) {
    if (!CRITICAL_TABLE_NAME_PATTERN.test(t.name)) {
      fail(
        `criticalTables: '${t.name}' is not a lower-case table name in schema public (letters, digits, underscores)`,
      );
    }
    if (!Number.isInteger(t.minRows) || t.minRows < 0) {
      fail(`criticalTables: minRows of '${t.name}' must be a non-negative integer, got ${t.minRows}`);
    }
    if (seen.has(t.name)) fail(`criticalTables: '${t.name}' is listed twice`);
    seen.add(t.name);
  }
  if (!Token.isUnresolved(v.runbookUrl) && !/^https:\/\/\S+$/.test(v.runbookUrl)) {
    fail(`runbookUrl must be an https:// URL, got '${v.runbookUrl}'`);
  }
  if (known(v.schedulePeriod)) {
    const s = v.schedulePeriod.toSeconds();
    if (s < 60 || s > 86_400 || s % 60 !== 0) {
      fail(
        `the schedule period (${v.schedulePeriod.toHumanString()}) must be whole minutes between 1 minute and 1 day: ` +
          'CloudWatch cannot alarm on a longer period; run the verification at least daily',
      );
    }
  }
}
