// Validation of SafeDeployment's props at synth time: every error names the construct, the
// setting, the value received and what is allowed. Values that are unresolved tokens are skipped.
import { type Duration, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { canaryArithmetic, MINIMUM_CANARY_INTERVAL_MINUTES } from './canary-arithmetic';
import type { TrafficShift } from './props';

/** The settings {@link validateSafeDeployment} checks, with defaults applied. */
export interface ResolvedDeploymentSettings {
  readonly shift: TrafficShift;
  readonly percentage: number;
  readonly interval: Duration;
  readonly errorRate: number;
  readonly minimumRequests: number;
  readonly expectedRequestsPerMinute?: number;
}

/** Throws when a prop of the SafeDeployment at `scope` is out of range or cannot work. */
export function validateSafeDeployment(scope: Construct, s: ResolvedDeploymentSettings): void {
  const where = `SafeDeployment '${scope.node.path}'`;
  const known = (n: number | undefined): n is number => n !== undefined && !Token.isUnresolved(n);
  if (known(s.errorRate) && (s.errorRate <= 0 || s.errorRate >= 100)) {
    throw new Error(
      `${where}: errorRateThresholdPercent must be above 0 and below 100, got ${s.errorRate}; 5 fits most APIs`,
    );
  }
  if (known(s.minimumRequests) && (!Number.isInteger(s.minimumRequests) || s.minimumRequests < 1)) {
    throw new Error(
      `${where}: minimumInvocationsPerMinute must be a whole number of at least 1, got ${s.minimumRequests}`,
    );
  }
  if (
    known(s.expectedRequestsPerMinute) &&
    (!Number.isFinite(s.expectedRequestsPerMinute) || s.expectedRequestsPerMinute <= 0)
  ) {
    throw new Error(
      `${where}: expectedRequestsPerMinute must be a positive number, got ${s.expectedRequestsPerMinute}`,
    );
  }
  if (s.shift.strategy === 'allAtOnce') return;
  if (known(s.percentage) && (!Number.isInteger(s.percentage) || s.percentage < 1 || s.percentage > 99)) {
    throw new Error(
      `${where}: trafficShift.percentage must be a whole number from 1 to 99, got ${s.percentage}`,
    );
  }
  if (s.interval.isUnresolved()) return;
  const minutes = s.interval.toMinutes({ integral: false });
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) {
    throw new Error(
      `${where}: trafficShift.interval must be whole minutes from 1 to 60, got ${s.interval.toHumanString()}; use Duration.minutes(n)`,
    );
  }
  if (minutes < MINIMUM_CANARY_INTERVAL_MINUTES) {
    throw new Error(
      `${where}: trafficShift.interval of ${minutes} minute(s) does not outlast the rollback alarms (2 of 3 one-minute datapoints plus about a minute until ALARM): a failing version could reach 100% before any alarm fires. Use Duration.minutes(${MINIMUM_CANARY_INTERVAL_MINUTES}) or more.`,
    );
  }
  if (known(s.expectedRequestsPerMinute) && known(s.percentage) && known(s.minimumRequests)) {
    const math = canaryArithmetic({
      percentage: s.percentage,
      requestsPerMinute: s.expectedRequestsPerMinute,
      failingPercent: 100,
      intervalMinutes: minutes,
      errorRateThresholdPercent: s.errorRate,
      minimumRequestsPerMinute: s.minimumRequests,
    });
    if (!math.reachesMinimum) {
      throw new Error(
        `${where}: at trafficShift.percentage ${s.percentage}% of expectedRequestsPerMinute ${s.expectedRequestsPerMinute}, the new version serves ${math.canaryRequestsPerMinute} requests a minute, fewer than minimumInvocationsPerMinute ${s.minimumRequests}: the error-rate alarm could never fire during the canary. Raise trafficShift.percentage or lower minimumInvocationsPerMinute.`,
      );
    }
  }
}
