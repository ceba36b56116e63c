import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { type IAlarmActionStrategy, MonitoringFacade, notifySns } from 'cdk-monitoring-constructs';
import type { Construct } from 'constructs';

/** Who is woken up (`page`, critical) or gets a working-hours ticket (`ticket`, warning). */
export type Severity = 'page' | 'ticket';

/** The two topics alarms route to by severity ({@link AlarmTopics} is one). */
export interface SeverityTopics {
  /** Critical: wake someone up. */
  readonly page: sns.ITopic;
  /** Warning: look at it during working hours. */
  readonly ticket: sns.ITopic;
}

/** cdk-monitoring-constructs' disambiguator of warnings (ticket). */
export const WARNING = 'Warning';
/** cdk-monitoring-constructs' disambiguator of critical alarms (page). */
export const CRITICAL = 'Critical';

/** One alarm: what it means, on which metric, and who is told. */
export interface AlarmSpec {
  /** What the alarm means; its description, followed by the severity and the runbook link. */
  readonly meaning: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly severity: Severity;
  /** File name in runbooks/, e.g. `database.md`. */
  readonly runbook: string;
  /** @default cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD */
  readonly comparison?: cloudwatch.ComparisonOperator;
  /** Periods that must all breach (also the datapoints to alarm). @default 3 */
  readonly evaluationPeriods?: number;
  /** @default cloudwatch.TreatMissingData.NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/** A Lambda function to alarm on (errors, throttles, duration near timeout, concurrency). */
export interface MonitoredFunction {
  /** PascalCase name used in alarm names and on the dashboard, e.g. `Api`. */
  readonly name: string;
  /** The function; an alias is monitored through its function (all versions). */
  readonly function: lambda.IFunction;
  /**
   * The function's timeout: duration alarms fire at 80% of it.
   * @default - the function's own timeout (3 seconds, Lambda's default, when it is not known)
   */
  readonly timeout?: Duration;
  /**
   * Alarm on the function's errors. Turn it off where the owning construct already alarms on
   * them (BackgroundJobs' worker), so one failure opens one ticket.
   * @default true
   */
  readonly errorsAlarm?: boolean;
  /**
   * Severity of errors and throttles: `page` for functions users wait on.
   * @default 'ticket'
   */
  readonly severity?: Severity;
}

/** Props of {@link AlarmTarget}. */
export interface AlarmTargetProps {
  /** Where the alarms are created: their construct paths (and so logical ids) start here. */
  readonly scope: Construct;
  /** The topics alarms route to: `page` for critical, `ticket` for warnings (and OK of each). */
  readonly topics: SeverityTopics;
  /** Base URL of the runbooks/ folder; every alarm description ends with `Runbook: <base>/<file>.md`. */
  readonly runbookBaseUrl: string;
  /** Prefix of every alarm name, e.g. `Shipshape-production`. */
  readonly alarmNamePrefix: string;
  /**
   * Dashboard the capabilities add their widgets to.
   * @default - widgets are dropped
   */
  readonly dashboard?: cloudwatch.Dashboard;
  /**
   * cdk-monitoring-constructs facade for the library's alarms (RDS, Lambda, CloudFront, WAF).
   * @default - one is created in `scope` (id `Monitoring`) when first needed
   */
  readonly facade?: MonitoringFacade;
  /**
   * Concurrent executions per function that open a ticket.
   * @default 800 (80% of the default regional quota of 1,000)
   */
  readonly maxConcurrentExecutions?: number;
}

/**
 * Where alarms go: a capability's `addAlarms(target)` creates its alarms in `scope`, routes each
 * by severity to the page or ticket topic (alarm and OK actions), ends each description with its
 * runbook link, and adds its widgets to the dashboard. {@link Observability} makes one for an
 * environment; a team adopting one construct makes its own:
 *
 * ```ts
 * database.addAlarms(new AlarmTarget({ scope: this, topics, runbookBaseUrl, alarmNamePrefix: 'MyApp' }));
 * ```
 */
export class AlarmTarget {
  public readonly scope: Construct;
  public readonly topics: SeverityTopics;
  public readonly alarmNamePrefix: string;
  public readonly dashboard?: cloudwatch.Dashboard;
  /** Every alarm created through {@link alarm}, by id (shared with targets made by {@link withScope}). */
  public readonly alarms: Record<string, cloudwatch.Alarm>;
  private readonly runbookBaseUrl: string;
  private readonly maxConcurrentExecutions: number;
  private facadeInstance?: MonitoringFacade;

  constructor(props: AlarmTargetProps, alarms: Record<string, cloudwatch.Alarm> = {}) {
    const url = props.runbookBaseUrl;
    if (!Token.isUnresolved(url) && !/^https:\/\/\S+[^/]$/.test(url)) {
      throw new Error(
        `AlarmTarget at '${props.scope.node.path}': runbookBaseUrl must be an https:// URL without a trailing slash, got '${url}'; e.g. https://github.com/<org>/<repo>/blob/main/runbooks`,
      );
    }
    this.scope = props.scope;
    this.topics = props.topics;
    this.alarmNamePrefix = props.alarmNamePrefix;
    this.dashboard = props.dashboard;
    this.runbookBaseUrl = url;
    this.maxConcurrentExecutions = props.maxConcurrentExecutions ?? 800;
    this.facadeInstance = props.facade;
    this.alarms = alarms;
  }

  /** The cdk-monitoring-constructs facade routing the library's alarms by severity. */
  public get facade(): MonitoringFacade {
    this.facadeInstance ??= new MonitoringFacade(this.scope, 'Monitoring', {
      alarmFactoryDefaults: severityRouting(this.alarmNamePrefix, this.topics),
    });
    return this.facadeInstance;
  }

  /** A target creating alarms in another scope (another stack) and topics, same registry and runbooks. */
  public withScope(scope: Construct, topics: SeverityTopics, facade?: MonitoringFacade): AlarmTarget {
    return new AlarmTarget(
      {
        scope,
        topics,
        runbookBaseUrl: this.runbookBaseUrl,
        alarmNamePrefix: this.alarmNamePrefix,
        dashboard: this.dashboard,
        facade,
        maxConcurrentExecutions: this.maxConcurrentExecutions,
      },
      this.alarms,
    );
  }

  /** Full URL of a runbook file in runbooks/. */
  public runbook(file: string): string {
    return `${this.runbookBaseUrl}/${file}`;
  }

  /** Creates alarm `<scope>/<id>` named `<prefix>-<id>`, routed to the topic of its severity. */
  public alarm(id: string, spec: AlarmSpec): cloudwatch.Alarm {
    const periods = spec.evaluationPeriods ?? 3;
    const alarm = new cloudwatch.Alarm(this.scope, id, {
      alarmName: `${this.alarmNamePrefix}-${id}`,
      alarmDescription: `${spec.meaning}\nSeverity: ${spec.severity}.\nRunbook: ${this.runbook(spec.runbook)}`,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: spec.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const topic = spec.severity === 'page' ? this.topics.page : this.topics.ticket;
    alarm.addAlarmAction(new cwActions.SnsAction(topic));
    alarm.addOkAction(new cwActions.SnsAction(topic));
    this.alarms[id] = alarm;
    return alarm;
  }

  /** Adds widgets to the dashboard, if there is one. */
  public addWidgets(...widgets: cloudwatch.IWidget[]): void {
    this.dashboard?.addWidgets(...widgets);
  }

  /**
   * Alarms on errors, throttles, duration near timeout and concurrent executions of each
   * function (cdk-monitoring-constructs), and adds them to the dashboard.
   */
  public monitorFunctions(...functions: MonitoredFunction[]): void {
    const concurrency = this.maxConcurrentExecutions;
    for (const f of functions) {
      const fn = f.function instanceof lambda.Alias ? f.function.version.lambda : f.function;
      const timeout = f.timeout ?? timeoutOf(fn);
      const errorsAndThrottles = f.severity === 'page' ? CRITICAL : WARNING;
      const runbookLink = this.runbook('lambda.md');
      this.facade.monitorLambdaFunction({
        lambdaFunction: fn,
        alarmFriendlyName: f.name,
        humanReadableName: `Lambda ${f.name}`,
        addFaultCountAlarm:
          f.errorsAlarm === false
            ? {}
            : {
                [errorsAndThrottles]: {
                  maxErrorCount: 5,
                  runbookLink,
                  alarmDescriptionOverride: `Lambda ${f.name} raised more than 5 errors per 5 minutes, 3 periods in a row.`,
                },
              },
        addThrottlesCountAlarm: {
          [errorsAndThrottles]: {
            maxErrorCount: 0,
            runbookLink,
            alarmDescriptionOverride: `Lambda ${f.name} is being throttled (concurrency exhausted), 3 periods in a row.`,
          },
        },
        addMaxLatencyAlarm: {
          [WARNING]: {
            maxLatency: Duration.millis(Math.floor(timeout.toMilliseconds() * 0.8)),
            runbookLink,
            alarmDescriptionOverride: `Lambda ${f.name} ran longer than 80% of its ${timeout.toHumanString()} timeout, 3 periods in a row: it is about to time out.`,
          },
        },
        addConcurrentExecutionsCountAlarm: {
          [WARNING]: {
            maxRunningTasks: concurrency,
            runbookLink,
            alarmDescriptionOverride: `Lambda ${f.name} ran more than ${concurrency} concurrent executions, 3 periods in a row: the regional quota is near.`,
          },
        },
      });
    }
  }
}

/** cdk-monitoring-constructs defaults: Warning → ticket, Critical → page, each with the same topic as OK action. */
export function severityRouting(prefix: string, topics: SeverityTopics) {
  const byTopic = (topic: sns.ITopic): IAlarmActionStrategy => notifySns(topic, topic);
  return {
    alarmNamePrefix: prefix,
    actionsEnabled: true,
    disambiguatorAction: { [WARNING]: byTopic(topics.ticket), [CRITICAL]: byTopic(topics.page) },
  };
}

/** The timeout of a function we created, or Lambda's default of 3 seconds. */
export function timeoutOf(fn: lambda.IFunction): Duration {
  return fn instanceof lambda.Function && fn.timeout ? fn.timeout : Duration.seconds(3);
}
