import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { guardRuleId } from '../policy/readiness-rules';

/**
 * What an SLO counts: the share of "bad" events, as a CloudWatch expression per period.
 * Build one with {@link SloIndicator.ratio} or {@link SloIndicator.latency}.
 */
export abstract class SloIndicator {
  /**
   * Bad events over total events, e.g. HTTP 5xx over all requests. Both metrics are summed per
   * period; a period without traffic has an error ratio of 0.
   */
  public static ratio(bad: cloudwatch.Metric, total: cloudwatch.Metric): SloIndicator {
    return new RatioIndicator(bad, total);
  }

  /**
   * Requests slower than `threshold` over all requests, from CloudWatch's percentile-rank
   * statistic `PR(:threshold)` (the share of samples at or below the threshold). The metric's
   * unit must be milliseconds (API Gateway `Latency`, Lambda `Duration`).
   */
  public static latency(latency: cloudwatch.Metric, threshold: Duration): SloIndicator {
    return new LatencyIndicator(latency, threshold);
  }

  /** The error ratio (0..1) over windows of `period`. */
  public abstract errorRatio(period: Duration, label: string): cloudwatch.IMetric;

  /**
   * The error ratio over windows of `period`, counted as 0 in a window with fewer than
   * `minimumBadEvents` bad events: a ratio measured on too few events to tell a burn from noise.
   */
  public abstract errorRatioWithEvidence(
    period: Duration,
    label: string,
    minimumBadEvents: number,
  ): cloudwatch.IMetric;
}

class RatioIndicator extends SloIndicator {
  constructor(
    private readonly bad: cloudwatch.Metric,
    private readonly total: cloudwatch.Metric,
  ) {
    super();
  }

  public errorRatio(period: Duration, label: string): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({
      expression: 'IF(total > 0, bad / total, 0)',
      usingMetrics: {
        bad: this.bad.with({ statistic: cloudwatch.Stats.SUM, period }),
        total: this.total.with({ statistic: cloudwatch.Stats.SUM, period }),
      },
      period,
      label,
    });
  }

  public errorRatioWithEvidence(
    period: Duration,
    label: string,
    minimumBadEvents: number,
  ): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({
      // bad >= 1 implies total >= 1: no division by zero.
      expression: `IF(bad >= ${minimumBadEvents}, bad / total, 0)`,
      usingMetrics: {
        bad: this.bad.with({ statistic: cloudwatch.Stats.SUM, period }),
        total: this.total.with({ statistic: cloudwatch.Stats.SUM, period }),
      },
      period,
      label,
    });
  }
}

class LatencyIndicator extends SloIndicator {
  constructor(
    private readonly latency: cloudwatch.Metric,
    private readonly threshold: Duration,
  ) {
    super();
  }

  public errorRatio(period: Duration, label: string): cloudwatch.IMetric {
    const ms = this.threshold.toMilliseconds();
    return new cloudwatch.MathExpression({
      expression: '1 - (fast / 100)',
      usingMetrics: { fast: this.latency.with({ statistic: `PR(:${ms})`, period }) },
      period,
      label,
    });
  }

  public errorRatioWithEvidence(
    period: Duration,
    label: string,
    minimumBadEvents: number,
  ): cloudwatch.IMetric {
    const ms = this.threshold.toMilliseconds();
    // Slow requests = samples × (1 − PR/100); SampleCount counts the samples.
    return new cloudwatch.MathExpression({
      expression: `IF(samples * (1 - fast / 100) >= ${minimumBadEvents}, 1 - (fast / 100), 0)`,
      usingMetrics: {
        fast: this.latency.with({ statistic: `PR(:${ms})`, period }),
        samples: this.latency.with({ statistic: cloudwatch.Stats.SAMPLE_COUNT, period }),
      },
      period,
      label,
    });
  }
}

/** One multi-window burn-rate alert: fires when both windows burn faster than `burnRate`. */
export interface BurnRateWindow {
  /** Construct-id-safe name, e.g. `FastBurn`. */
  readonly name: string;
  /** Multiple of the sustainable error rate (1 = the budget lasts exactly the SLO period). */
  readonly burnRate: number;
  /** The long window: how much budget must be gone before alerting. */
  readonly longWindow: Duration;
  /** The short window: makes the alert reset quickly once the burn stops. */
  readonly shortWindow: Duration;
  /** `page` wakes someone up; `ticket` is for working hours. */
  readonly severity: 'page' | 'ticket';
  /**
   * When set, the short window alone also fires the alert once it holds at least this many bad
   * events at `burnRate` or faster. The workbook's long window exists to demand evidence before
   * paging; a short window with enough bad events is that evidence, so a 14.4× burn of a busy
   * API pages within one short window instead of after (almost) the whole long window. A quiet
   * API, whose short window never holds enough bad events to tell a burn from noise (at 10
   * requests a minute a single error is a 40× burn of a 99.9% target), still waits for the long
   * window.
   * @default - only both windows together fire the alert
   */
  readonly minimumBadEvents?: number;
}

/**
 * The Google SRE workbook's recommended windows for a 30-day SLO (chapter "Alerting on SLOs"):
 * page on 2% of the budget in 1 h or 5% in 6 h, ticket on 10% in 3 days.
 */
export const SRE_WORKBOOK_WINDOWS: readonly BurnRateWindow[] = [
  {
    name: 'FastBurn',
    burnRate: 14.4,
    longWindow: Duration.hours(1),
    shortWindow: Duration.minutes(5),
    severity: 'page',
    // Poisson: at a 0.5x burn (half the budget) a 5-minute window expecting 0.3 bad events (2
    // requests/s, 99.9%) holds 6 or more with probability ~1e-6; at 14.4x it expects 8.6.
    minimumBadEvents: 6,
  },
  {
    name: 'SlowBurn',
    burnRate: 6,
    longWindow: Duration.hours(6),
    shortWindow: Duration.minutes(30),
    severity: 'page',
  },
  {
    name: 'BudgetBurn',
    burnRate: 1,
    longWindow: Duration.days(3),
    shortWindow: Duration.hours(6),
    severity: 'ticket',
  },
];

/** CloudWatch metric periods stop at one day. */
const MAX_PERIOD = Duration.days(1);

/** Props of {@link BurnRateSlo}. */
export interface BurnRateSloProps {
  /** Human name used in alarm names and descriptions, e.g. `Availability`. */
  readonly sloName: string;
  /** One line on what the SLO promises, e.g. `99.9% of API requests succeed (non-5xx)`. */
  readonly objective: string;
  /** What counts as a bad event. */
  readonly indicator: SloIndicator;
  /** Target share of good events in percent, below 100 (e.g. 99.9). */
  readonly targetPercent: number;
  /** Receives the page-severity alerts. */
  readonly pageTopic: sns.ITopic;
  /** Receives the ticket-severity alerts. */
  readonly ticketTopic: sns.ITopic;
  /** Runbook this SLO's alerts link to (full URL). */
  readonly runbookUrl: string;
  /**
   * Prefix of alarm names, e.g. `Staging-Api`.
   * @default - CloudFormation-generated names
   */
  readonly alarmNamePrefix?: string;
  /**
   * The burn-rate windows.
   * @default SRE_WORKBOOK_WINDOWS
   */
  readonly windows?: readonly BurnRateWindow[];
}

/** The alarms of one burn-rate window. */
export interface BurnRateAlerts {
  readonly window: BurnRateWindow;
  /** Error-ratio threshold both windows compare against: burnRate × (1 − target). */
  readonly threshold: number;
  readonly longAlarm: cloudwatch.Alarm;
  readonly shortAlarm: cloudwatch.Alarm;
  /**
   * The short window with at least `minimumBadEvents` bad events (only when the window sets it):
   * fires the alert on its own.
   */
  readonly evidenceAlarm?: cloudwatch.Alarm;
  /** Fires when both windows breach (or the evidence alarm does); carries the notification actions. */
  readonly alarm: cloudwatch.CompositeAlarm;
}

/**
 * Multi-window, multi-burn-rate alerting for one SLO, after the Google SRE workbook.
 *
 * For each window pair a metric alarm watches the long window and one the short window; a
 * composite alarm fires only while both do, and only the composite notifies (its components are
 * inputs, without actions of their own). A faster burn's composite suppresses the actions of the
 * slower ones while it fires, so one incident pages once.
 *
 * Differences from the workbook, forced by CloudWatch:
 * - each window is a fixed alarm period (1 h, 5 min, ...) evaluated as one datapoint, not a
 *   sliding sum: a burn straddling two periods is seen later, by at most one period;
 * - CloudWatch periods stop at one day, so a window longer than a day (the 3-day ticket window)
 *   becomes that many consecutive daily datapoints that must ALL breach. That is stricter than
 *   the workbook's 3-day average: two bad days and one good day do not open a ticket.
 *
 * One addition to the workbook: a window with `minimumBadEvents` (the default fast burn: 6) also
 * fires on its short window alone once that window holds enough bad events, so a 14.4× burn of
 * a busy API pages in about 5 minutes, not after most of an hour; on a quiet API the long window
 * still gates (see {@link BurnRateWindow.minimumBadEvents}).
 *
 * Periods without traffic count as no errors (missing data is not breaching).
 */
export class BurnRateSlo extends Construct {
  /** Alerts per window, in the order given (fastest first). */
  public readonly alerts: BurnRateAlerts[];
  /**
   * The fastest page-severity window's short-window alarm, sensitive enough for a canary; its
   * evidence alarm when the window sets `minimumBadEvents`, so that a single error on a quiet API
   * (a 40× burn at 10 requests a minute) does not roll a deployment back.
   */
  public readonly fastBurnShortWindowAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: BurnRateSloProps) {
    super(scope, id);
    validateTarget(this, props.targetPercent);
    const windows = props.windows ?? SRE_WORKBOOK_WINDOWS;
    if (windows.length === 0) throw new Error(`BurnRateSlo '${this.node.path}': windows must not be empty`);
    const budget = (100 - props.targetPercent) / 100;
    const name = (suffix: string) =>
      props.alarmNamePrefix ? `${props.alarmNamePrefix}-${props.sloName}-${suffix}` : undefined;

    this.alerts = [];
    let faster: cloudwatch.CompositeAlarm | undefined;
    for (const window of windows) {
      const threshold = window.burnRate * budget;
      if (threshold > 1) {
        throw new Error(
          `BurnRateSlo '${this.node.path}': a ${window.burnRate}x burn of a ${props.targetPercent}% target needs an error ratio of ${threshold.toFixed(3)} (over 100%), so '${window.name}' could never fire. Raise the target to at least ${(100 - 100 / window.burnRate).toFixed(2)}%.`,
        );
      }
      const longAlarm = this.windowAlarm(
        `${window.name}Long`,
        window,
        window.longWindow,
        threshold,
        props,
        name,
      );
      const shortAlarm = this.windowAlarm(
        `${window.name}Short`,
        window,
        window.shortWindow,
        threshold,
        props,
        name,
      );
      const evidenceAlarm =
        window.minimumBadEvents === undefined
          ? undefined
          : this.windowAlarm(
              `${window.name}ShortEvidence`,
              window,
              window.shortWindow,
              threshold,
              props,
              name,
              window.minimumBadEvents,
            );
      const bothWindows = cloudwatch.AlarmRule.allOf(
        cloudwatch.AlarmRule.fromAlarm(longAlarm, cloudwatch.AlarmState.ALARM),
        cloudwatch.AlarmRule.fromAlarm(shortAlarm, cloudwatch.AlarmState.ALARM),
      );
      const evidence = evidenceAlarm
        ? ` or over ${describe(window.shortWindow)} with at least ${window.minimumBadEvents} bad events`
        : '';
      const alarm = new cloudwatch.CompositeAlarm(this, window.name, {
        compositeAlarmName: name(window.name),
        alarmDescription: [
          `${props.sloName} SLO (${props.objective}) is burning its error budget at ${window.burnRate}x or faster over both ${describe(window.longWindow)} and ${describe(window.shortWindow)}${evidence} (error ratio >= ${formatRatio(threshold)}).`,
          `Severity: ${window.severity}. Budget: ${formatRatio(budget)} errors over 30 days.`,
          `Runbook: ${props.runbookUrl}`,
        ].join('\n'),
        alarmRule: evidenceAlarm
          ? cloudwatch.AlarmRule.anyOf(
              bothWindows,
              cloudwatch.AlarmRule.fromAlarm(evidenceAlarm, cloudwatch.AlarmState.ALARM),
            )
          : bothWindows,
        ...(faster
          ? {
              actionsSuppressor: faster,
              actionsSuppressorWaitPeriod: Duration.minutes(2),
              actionsSuppressorExtensionPeriod: Duration.minutes(10),
            }
          : {}),
      });
      const topic = window.severity === 'page' ? props.pageTopic : props.ticketTopic;
      alarm.addAlarmAction(new actions.SnsAction(topic));
      alarm.addOkAction(new actions.SnsAction(topic));
      this.alerts.push({ window, threshold, longAlarm, shortAlarm, evidenceAlarm, alarm });
      faster = alarm;
    }

    const fastest = this.alerts.find((a) => a.window.severity === 'page') ?? this.alerts[0];
    this.fastBurnShortWindowAlarm = fastest.evidenceAlarm ?? fastest.shortAlarm;
  }

  private windowAlarm(
    id: string,
    window: BurnRateWindow,
    length: Duration,
    threshold: number,
    props: BurnRateSloProps,
    name: (suffix: string) => string | undefined,
    minimumBadEvents?: number,
  ): cloudwatch.Alarm {
    const seconds = length.toSeconds();
    const period = seconds > MAX_PERIOD.toSeconds() ? MAX_PERIOD : length;
    const periods = Math.ceil(seconds / period.toSeconds());
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: name(id),
      alarmDescription: [
        `Input of the ${props.sloName} ${window.name} burn-rate alert: error ratio over ${describe(length)} >= ${formatRatio(threshold)} (${window.burnRate}x the budget). No action of its own; the composite alarm notifies.`,
        `Runbook: ${props.runbookUrl}`,
      ].join('\n'),
      metric:
        minimumBadEvents === undefined
          ? props.indicator.errorRatio(period, `${props.sloName} error ratio (${describe(period)})`)
          : props.indicator.errorRatioWithEvidence(
              period,
              `${props.sloName} error ratio (${describe(period)}, ${minimumBadEvents}+ bad events)`,
              minimumBadEvents,
            ),
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const input = `Input of the ${window.name} composite burn-rate alarm, which notifies (with OK actions); an action here would page twice for one burn, and the multi-window AND is what keeps the alert precise.`;
    Validations.of(alarm).acknowledge({ id: 'NIST.800.53.R5-CloudWatchAlarmAction', reason: input });
    Validations.of(alarm).acknowledge({ id: guardRuleId('cloudwatch_alarm_action_check'), reason: input });
    return alarm;
  }
}

/** Checks an SLO target the way the config validator does, for use outside the reference app. */
export function validateTarget(scope: Construct, targetPercent: number): void {
  if (Token.isUnresolved(targetPercent)) return;
  if (!(targetPercent > 0 && targetPercent < 100)) {
    throw new Error(
      `BurnRateSlo '${scope.node.path}': targetPercent must be above 0 and below 100, got ${targetPercent}. A 100% target leaves no error budget: every single error would page.`,
    );
  }
}

function describe(d: Duration): string {
  const s = d.toSeconds();
  if (s % 86_400 === 0) return `${s / 86_400} day${s === 86_400 ? '' : 's'}`;
  if (s % 3_600 === 0) return `${s / 3_600} h`;
  return `${s / 60} min`;
}

function formatRatio(r: number): string {
  return `${Number((r * 100).toPrecision(4))}%`;
}
