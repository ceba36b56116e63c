/**
 * The arithmetic of a canary: does a version that fails N% of its requests trip the rollback
 * alarms while only the canary share of the traffic sees it? Pure functions, used by synth
 * validation and documented in docs/constructs/safe-deployment.md.
 *
 * The rollback alarms evaluate {@link ALARM_PERIOD_MINUTES}-minute datapoints and go to ALARM on
 * {@link DATAPOINTS_TO_ALARM} breaching datapoints out of the last {@link EVALUATION_PERIODS}
 * ("M out of N", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation).
 * A minute in which the new version served fewer than the minimum number of requests counts as
 * 0% (not breaching): one failure out of two requests is noise, not a 50% error rate.
 */

/** Period of the rollback alarms' datapoints, minutes. */
export const ALARM_PERIOD_MINUTES = 1;
/** Datapoints the rollback alarms look at (N of "M out of N"). */
export const EVALUATION_PERIODS = 3;
/** Breaching datapoints that put a rollback alarm in ALARM (M of "M out of N"). */
export const DATAPOINTS_TO_ALARM = 2;
/**
 * Minutes from the end of the last breaching minute until the alarm is in ALARM: Lambda and
 * EMF metrics arrive within about a minute and CloudWatch evaluates alarms once a minute. An
 * estimate (CloudWatch documents no bound): it is why the interval must cover the whole window.
 */
export const ALARM_DELAY_MINUTES = 1;

/** The alarms' evaluation window, minutes. */
export const EVALUATION_WINDOW_MINUTES = EVALUATION_PERIODS * ALARM_PERIOD_MINUTES;

/**
 * The shortest canary interval synth accepts, minutes: longer than the time a breaching canary
 * needs to put the alarm in ALARM (DATAPOINTS_TO_ALARM minutes plus the delay), and never shorter
 * than the evaluation window.
 */
export const MINIMUM_CANARY_INTERVAL_MINUTES = Math.max(
  EVALUATION_WINDOW_MINUTES,
  DATAPOINTS_TO_ALARM * ALARM_PERIOD_MINUTES + ALARM_DELAY_MINUTES + 1,
);

/** Inputs of {@link canaryArithmetic}. */
export interface CanaryArithmeticInput {
  /** Share of traffic on the new version during the canary, percent (P). */
  readonly percentage: number;
  /** Requests per minute the whole API serves (R). */
  readonly requestsPerMinute: number;
  /** Share of its requests the new version fails with a 5xx, percent (N). */
  readonly failingPercent: number;
  /** How long the canary share runs, minutes. */
  readonly intervalMinutes: number;
  /** The error-rate alarm's threshold, percent: strictly more breaches. */
  readonly errorRateThresholdPercent: number;
  /** Minutes with fewer requests on the new version count as 0%. */
  readonly minimumRequestsPerMinute: number;
}

/** What {@link canaryArithmetic} works out. */
export interface CanaryArithmetic {
  /** R × P / 100: requests per minute the new version serves during the canary. */
  readonly canaryRequestsPerMinute: number;
  /** Failed requests per minute on the new version (expected value). */
  readonly failuresPerMinute: number;
  /** The canary's minutes reach the minimum-request guard (otherwise they always count as 0%). */
  readonly reachesMinimum: boolean;
  /** A minute of the canary breaches the error-rate threshold (N above the threshold). */
  readonly breaches: boolean;
  /** Minutes from the start of the canary until the alarm is in ALARM; undefined if it never is. */
  readonly minutesToAlarm: number | undefined;
  /**
   * The alarm is in ALARM strictly before the canary interval ends, so CodeDeploy rolls back at
   * P%. "At the same minute" does not count: CloudWatch's evaluation and CodeDeploy's next shift
   * are not ordered by any documented rule, so that is a race the failing version may win.
   */
  readonly tripsInsideInterval: boolean;
}

/**
 * At canary percentage P and request rate R, a version failing N% of its requests serves
 * R×P/100 requests a minute, N% of them failing. If that is at least the minimum and N is above
 * the threshold, every minute breaches; the alarm is in ALARM after DATAPOINTS_TO_ALARM minutes
 * plus the evaluation delay, which must fall inside the canary interval.
 */
export function canaryArithmetic(input: CanaryArithmeticInput): CanaryArithmetic {
  const canaryRequestsPerMinute = (input.requestsPerMinute * input.percentage) / 100;
  const failuresPerMinute = (canaryRequestsPerMinute * input.failingPercent) / 100;
  const reachesMinimum = canaryRequestsPerMinute >= input.minimumRequestsPerMinute;
  const breaches = input.failingPercent > input.errorRateThresholdPercent;
  const minutesToAlarm =
    reachesMinimum && breaches ? DATAPOINTS_TO_ALARM * ALARM_PERIOD_MINUTES + ALARM_DELAY_MINUTES : undefined;
  return {
    canaryRequestsPerMinute,
    failuresPerMinute,
    reachesMinimum,
    breaches,
    minutesToAlarm,
    tripsInsideInterval: minutesToAlarm !== undefined && minutesToAlarm < input.intervalMinutes,
  };
}
