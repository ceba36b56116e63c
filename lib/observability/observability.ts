import { Duration, Size, Token, Validations } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type { Stack } from 'aws-cdk-lib';
import { DefaultDashboardFactory, MonitoringFacade } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import type { Cache } from '../cache/cache';
import type { Database } from '../database/database';
import type { Edge } from '../edge/edge';
import type { RestoreVerification } from '../restore-verification/restore-verification';
import { addRollbackDrillAlarms } from '../deployment/drill-alarms';
import { AlarmTarget, type MonitoredFunction, severityRouting } from './alarm-target';
import type { AlarmTopics } from './alarm-topics';
import { BurnRateSlo, SloIndicator } from './burn-rate-slo';
import { CostBudget } from './cost-budget';
import { addSloDashboard } from './slo-dashboard';

export type { MonitoredFunction, Severity } from './alarm-target';
export { instanceClassMemory } from '../database/alarms';

/** The SLOs of the API, measured on the HTTP API where users feel them. */
export interface ApiSlos {
  /** Share of non-5xx responses over 30 days, in percent (below 100). */
  readonly availabilityTargetPercent: number;
  /** Share of requests faster than `latencyThreshold`, in percent (below 100). */
  readonly latencyTargetPercent: number;
  /** What "fast" means for the latency SLO. */
  readonly latencyThreshold: Duration;
}

/** An AWS Chatbot Slack channel that receives both topics. */
export interface SlackChannel {
  /** Workspace id (from the AWS Chatbot console, after authorising the workspace once). */
  readonly slackWorkspaceId: string;
  /** Channel id, e.g. `C0123456789`. */
  readonly slackChannelId: string;
}

/** Reusable knobs of {@link Observability}. */
export interface ObservabilityOptions {
  /** Base URL of the runbooks/ folder; every alarm description ends with `Runbook: <base>/<file>.md`. */
  readonly runbookBaseUrl: string;
  /** Monthly AWS Budget in USD (alerts go to the ticket topic). */
  readonly monthlyBudgetUsd: number;
  /**
   * Alarm when no rollback drill succeeded for this long. CloudWatch evaluates at most 7 days
   * of daily datapoints, so a longer age is clamped to 7 days (the alarm fires sooner, never later).
   * @default Duration.days(14)
   */
  readonly rollbackDrillMaxAge?: Duration;
  /**
   * Slack channel (AWS Chatbot) receiving the page and ticket topics.
   * @default - no chat integration
   */
  readonly slackChannel?: SlackChannel;
  /**
   * Concurrent executions per function that open a ticket.
   * @default 800 (80% of the default regional quota of 1,000)
   */
  readonly maxConcurrentExecutions?: number;
  /**
   * Requests the web ACL may block per 5 minutes before a ticket opens (three periods in a row).
   * @default 1000
   */
  readonly blockedRequestsPer5Min?: number;
  /**
   * Subscribe the distribution to CloudFront's additional metrics (`OriginLatency`), billed per
   * metric; without them the origin-latency alarm never sees data.
   * @default true
   */
  readonly cloudFrontAdditionalMetrics?: boolean;
}

/** Props of {@link Observability}. */
export interface ObservabilityProps extends ObservabilityOptions {
  /** `staging` or `production`: in alarm, dashboard and budget names and the drill metric's `Environment`. */
  readonly environmentName: string;
  /** The topics every alarm of this region routes to. */
  readonly topics: AlarmTopics;
  /** E-mail subscribed to the us-east-1 topics of the edge alarms. */
  readonly alarmEmail: string;
  /** The SLOs, applied once the edge is added ({@link Observability.addEdge}). */
  readonly slos: ApiSlos;
  /** The database (instance and RDS Proxy). */
  readonly database: Database;
  /** Size allocated to the database: the free-storage thresholds are shares of it. */
  readonly databaseAllocatedStorage: Size;
  /** Memory of the database instance class: estimates `max_connections` (PostgreSQL: memory / 9,531,392). */
  readonly databaseMemory: Size;
  /** Share of `max_connections` the RDS Proxy may open, in percent. */
  readonly proxyMaxConnectionsPercent: number;
  /** The Valkey cache. */
  readonly cache: Cache;
  /**
   * Restore verification: its own alarms stay its own; its functions are monitored, its
   * heartbeat writer is watched for missing heartbeats, and its RPO/RTO go on the dashboard.
   * @default - none
   */
  readonly restoreVerification?: RestoreVerification;
  /**
   * How often the heartbeat writer runs; "no heartbeat" fires after max(5 min, 3 intervals).
   * @default Duration.minutes(5)
   */
  readonly heartbeatInterval?: Duration;
}

/**
 * Composes the monitoring of one environment: topics, SLOs, dashboard, budget and
 * secret-rotation notifications. It builds no capability's alarms: it makes an {@link AlarmTarget}
 * (this construct, the topics, the runbooks, the dashboard) and asks each capability to add its
 * own (`database.addAlarms`, `cache.addAlarms`, `restoreVerification.addAlarms`, `edge.addAlarms`,
 * rollback drills from lib/deployment), which keeps every alarm's construct path and logical id.
 *
 * From cdklabs' cdk-monitoring-constructs (`MonitoringFacade`, routed per severity:
 * `Warning` → ticket, `Critical` → page, each with an OK action and a runbook link): RDS CPU, free
 * storage and connections; Lambda errors, throttles, duration near timeout and concurrent
 * executions; CloudFront 5xx rate; WAF blocked requests; and the dashboard `Shipshape-<env>`.
 *
 * Ours, because the library has no equivalent: burn-rate SLO alerts ({@link BurnRateSlo}); RDS
 * freeable memory and read/write latency; RDS Proxy (pool near its limit, borrow latency, pinned
 * sessions); the cache (the library watches one node, the Valkey group spans several: ours
 * combine every node); API Gateway 5xx, 4xx surge and p99 latency (on `ApiId` alone: the stage is
 * `$default`, the library always adds a `Stage` dimension); CloudFront origin latency; missing
 * heartbeats; stale or failed rollback drills; secret-rotation failures (an EventBridge rule,
 * not an alarm: the event arrives at once and needs no CloudTrail log group); the budget.
 *
 * There is no read replica, so no replica-lag alarm. CloudFront and WAF metrics exist only in
 * us-east-1 and an alarm's SNS action must be in its region: {@link addEdge} puts those alarms
 * in a us-east-1 stack with its own topics, subscribed to the same address.
 */
export class Observability extends Construct {
  /** Routes alarms to the topics by severity and builds the dashboard. */
  public readonly facade: MonitoringFacade;
  /** The dashboard `Shipshape-<env>`. */
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly topics: AlarmTopics;
  public readonly budget: CostBudget;
  /** Notifies the page topic when a secret's rotation fails. */
  public readonly secretRotationFailedRule: events.Rule;
  /** No successful rollback drill within the configured age. */
  public readonly rollbackDrillStaleAlarm: cloudwatch.Alarm;
  /** A rollback drill reported failure. */
  public readonly rollbackDrillFailedAlarm: cloudwatch.Alarm;
  /** No heartbeat written (only with restore verification). */
  public readonly heartbeatMissingAlarm?: cloudwatch.Alarm;
  /** Alarms CodeDeploy should roll back on (the availability SLO's fast-burn short window); filled by {@link addEdge}. */
  public readonly deploymentRollbackAlarms: cloudwatch.IAlarm[] = [];
  /** Every alarm created through {@link alarmTarget} (not the library's), by id. */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};
  public availabilitySlo?: BurnRateSlo;
  public latencySlo?: BurnRateSlo;
  /** The us-east-1 stack of the CloudFront and WAF alarms; set by {@link addEdge}. */
  public edgeAlarmsStack?: Stack;

  /** Where the capabilities create their alarms: this construct, the topics, the runbooks, the dashboard. */
  public readonly alarmTarget: AlarmTarget;

  private readonly props: ObservabilityProps;
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.validate(props);
    this.props = props;
    this.topics = props.topics;
    this.prefix = `Shipshape-${props.environmentName}`;

    const dashboards = new DefaultDashboardFactory(this, 'Dashboards', {
      dashboardNamePrefix: this.prefix,
      createDashboard: true,
      createSummaryDashboard: false,
      createAlarmDashboard: false,
      detailDashboardRange: Duration.hours(24),
    });
    this.dashboard = dashboards.dashboard!;
    this.facade = new MonitoringFacade(this, 'Monitoring', {
      alarmFactoryDefaults: severityRouting(this.prefix, props.topics),
      dashboardFactory: dashboards,
    });
    this.alarmTarget = new AlarmTarget(
      {
        scope: this,
        topics: props.topics,
        runbookBaseUrl: props.runbookBaseUrl,
        alarmNamePrefix: this.prefix,
        dashboard: this.dashboard,
        facade: this.facade,
        maxConcurrentExecutions: props.maxConcurrentExecutions,
      },
      this.alarms,
    );

    props.database.addAlarms(this.alarmTarget, {
      allocatedStorage: props.databaseAllocatedStorage,
      instanceMemory: props.databaseMemory,
      proxyMaxConnectionsPercent: props.proxyMaxConnectionsPercent,
    });
    props.cache.addAlarms(this.alarmTarget);
    this.heartbeatMissingAlarm = props.restoreVerification?.addAlarms(this.alarmTarget, {
      heartbeatInterval: props.heartbeatInterval ?? Duration.minutes(5),
    });
    [this.rollbackDrillStaleAlarm, this.rollbackDrillFailedAlarm] = addRollbackDrillAlarms(this.alarmTarget, {
      environmentName: props.environmentName,
      maxAge: props.rollbackDrillMaxAge,
    });
    this.secretRotationFailedRule = this.notifySecretRotationFailures();

    this.budget = new CostBudget(this, 'Budget', {
      budgetName: `shipshape-${props.environmentName}-monthly`,
      monthlyLimitUsd: props.monthlyBudgetUsd,
      topic: props.topics.ticket,
    });

    if (props.slackChannel) {
      new chatbot.SlackChannelConfiguration(this, 'Slack', {
        slackChannelConfigurationName: this.prefix,
        slackWorkspaceId: props.slackChannel.slackWorkspaceId,
        slackChannelId: props.slackChannel.slackChannelId,
        notificationTopics: [props.topics.page, props.topics.ticket],
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
    }
  }

  /** Full URL of a runbook file in runbooks/. */
  public runbook(file: string): string {
    return this.alarmTarget.runbook(file);
  }

  /**
   * Alarms on errors, throttles, duration near timeout and concurrent executions of each
   * function (cdk-monitoring-constructs), and adds them to the dashboard.
   */
  public monitorFunctions(...functions: MonitoredFunction[]): void {
    this.alarmTarget.monitorFunctions(...functions);
  }

  /**
   * Adds what needs the edge: the SLOs on the HTTP API (whose availability fast-burn alarm joins
   * {@link deploymentRollbackAlarms}) and their dashboard, then the edge's own alarms
   * ({@link Edge.addAlarms}: API Gateway, and CloudFront and WAF in a us-east-1 stack
   * `<stack>EdgeAlarms` with its own topics).
   */
  public addEdge(edge: Edge): void {
    if (this.availabilitySlo) {
      throw new Error(
        `Observability '${this.node.path}': addEdge was already called; an environment has one edge`,
      );
    }
    const { slos } = this.props;
    const api = edge.httpApi;
    const period = Duration.minutes(5);
    const requests = api.metricCount({ statistic: cloudwatch.Stats.SUM, period });
    const serverErrors = api.metricServerError({ statistic: cloudwatch.Stats.SUM, period });
    const latency = api.metricLatency({ period });
    const sloRunbook = this.runbook('slo-burn-rate.md');
    this.availabilitySlo = new BurnRateSlo(this, 'AvailabilitySlo', {
      sloName: 'Availability',
      objective: `${slos.availabilityTargetPercent}% of API requests succeed (non-5xx)`,
      indicator: SloIndicator.ratio(serverErrors, requests),
      targetPercent: slos.availabilityTargetPercent,
      pageTopic: this.topics.page,
      ticketTopic: this.topics.ticket,
      runbookUrl: sloRunbook,
      alarmNamePrefix: `${this.prefix}-Api`,
    });
    this.latencySlo = new BurnRateSlo(this, 'LatencySlo', {
      sloName: 'Latency',
      objective: `${slos.latencyTargetPercent}% of API requests answer within ${slos.latencyThreshold.toMilliseconds()} ms`,
      indicator: SloIndicator.latency(latency, slos.latencyThreshold),
      targetPercent: slos.latencyTargetPercent,
      pageTopic: this.topics.page,
      ticketTopic: this.topics.ticket,
      runbookUrl: sloRunbook,
      alarmNamePrefix: `${this.prefix}-Api`,
    });
    this.deploymentRollbackAlarms.push(this.availabilitySlo.fastBurnShortWindowAlarm);

    addSloDashboard(
      this.dashboard,
      slos,
      [...this.availabilitySlo.alerts, ...this.latencySlo.alerts].map((a) => a.alarm),
      serverErrors,
      requests,
      latency,
    );
    this.edgeAlarmsStack = edge.addAlarms(this.alarmTarget, {
      latencyThreshold: slos.latencyThreshold,
      alarmEmail: this.props.alarmEmail,
      blockedRequestsPer5Min: this.props.blockedRequestsPer5Min,
      cloudFrontAdditionalMetrics: this.props.cloudFrontAdditionalMetrics,
    });
  }

  private notifySecretRotationFailures(): events.Rule {
    const rule = new events.Rule(this, 'SecretRotationFailed', {
      description: `Pages when Secrets Manager fails to rotate a secret. Runbook: ${this.runbook('secret-rotation.md')}`,
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['AWS Service Event via CloudTrail'],
        detail: { eventName: ['RotationFailed', 'RotationAbandoned'] },
      },
    });
    rule.addTarget(
      new targets.SnsTopic(this.topics.page, {
        message: events.RuleTargetInput.fromText(
          `Secret rotation ${events.EventField.fromPath('$.detail.eventName')} in ${this.props.environmentName} ` +
            `for ${events.EventField.fromPath('$.detail.additionalEventData.SecretId')} at ${events.EventField.time}: ` +
            `the secret keeps its previous value until a rotation succeeds. Runbook: ${this.runbook('secret-rotation.md')}`,
        ),
      }),
    );
    Validations.of(rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'The target is the page topic in the same account and region: EventBridge retries delivery for 24 hours, and a dead-letter queue of undelivered pages would itself page nobody.',
    });
    return rule;
  }

  private validate(props: ObservabilityProps): void {
    const where = `Observability '${this.node.path}'`;
    if (!Token.isUnresolved(props.runbookBaseUrl) && !/^https:\/\/\S+[^/]$/.test(props.runbookBaseUrl)) {
      throw new Error(
        `${where}: runbookBaseUrl must be an https:// URL without a trailing slash, got '${props.runbookBaseUrl}'; e.g. https://github.com/<org>/<repo>/blob/main/runbooks`,
      );
    }
    const age = props.rollbackDrillMaxAge;
    if (age && !Token.isUnresolved(age.toSeconds()) && age.toSeconds() < Duration.days(1).toSeconds()) {
      throw new Error(
        `${where}: rollbackDrillMaxAge must be at least 1 day (the drill metric is evaluated daily), got ${age.toHumanString()}`,
      );
    }
    const pct = props.proxyMaxConnectionsPercent;
    if (!Token.isUnresolved(pct) && !(pct > 0 && pct <= 100)) {
      throw new Error(`${where}: proxyMaxConnectionsPercent must be above 0 and at most 100, got ${pct}`);
    }
    const concurrency = props.maxConcurrentExecutions;
    if (
      concurrency !== undefined &&
      !Token.isUnresolved(concurrency) &&
      !(Number.isInteger(concurrency) && concurrency >= 1)
    ) {
      throw new Error(`${where}: maxConcurrentExecutions must be a positive integer, got ${concurrency}`);
    }
  }
}
