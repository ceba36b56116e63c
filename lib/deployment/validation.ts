// Validation of SafeDeployment's props at synth time: every error names the construct, the value
// received and what is allowed. Values that are unresolved tokens are skipped.
import { type Duration, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { TrafficShift } from './props';

/** Throws when a prop of the SafeDeployment at `scope` is out of range. */
export function validateSafeDeployment(
  scope: Construct,
  shift: TrafficShift,
  percentage: number,
  interval: Duration,
  errorRate: number,
  minimumInvocations: number,
): void {
  const where = `SafeDeployment '${scope.node.path}'`;
  if (shift.strategy !== 'allAtOnce') {
    if (
      !Token.isUnresolved(percentage) &&
      (!Number.isInteger(percentage) || percentage < 1 || percentage > 99)
    ) {
      throw new Error(
        `${where}: trafficShift.percentage must be a whole number from 1 to 99, got ${percentage}`,
      );
    }
    const minutes = interval.toMinutes({ integral: false });
    if (!interval.isUnresolved() && (!Number.isInteger(minutes) || minutes < 1 || minutes > 60)) {
      throw new Error(
        `${where}: trafficShift.interval must be whole minutes from 1 to 60, got ${interval.toHumanString()}; use Duration.minutes(n)`,
      );
    }
  }
  if (!Token.isUnresolved(errorRate) && (errorRate <= 0 || errorRate >= 100)) {
    throw new Error(
      `${where}: errorRateThresholdPercent must be above 0 and below 100, got ${errorRate}; 5 fits most APIs`,
    );
  }
  if (
    !Token.isUnresolved(minimumInvocations) &&
    (!Number.isInteger(minimumInvocations) || minimumInvocations < 1)
  ) {
    throw new Error(
      `${where}: minimumInvocationsPerMinute must be a whole number of at least 1, got ${minimumInvocations}`,
    );
  }
}
