import { Duration, Size, Stack, Stage, Token, Validations } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import {
  DefaultDashboardFactory,
  type IAlarmActionStrategy,
  MonitoringFacade,
  notifySns,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import type { Cache } from '../cache/cache';
import type { Database } from '../database/database';
import type { Edge } from '../edge/edge';
import type { RestoreVerification } from '../restore-verification/restore-verification';
import { guardRuleId } from '../policy/readiness-rules';
import { AlarmTopics } from './alarm-topics';
import { BurnRateSlo, SloIndicator } from './burn-rate-slo';
import { CostBudget } from './cost-budget';

/** Who is woken up (`page`, critical) or gets a working-hours ticket (`ticket`, warning). */
export type Severity = 'page' | 'ticket';

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

const WARNING = 'Warning';
const CRITICAL = 'Critical';

/**
 * Alarms, SLOs, dashboard, budget and secret-rotation notifications of one environment.
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
  /** Every alarm this construct created itself (not the library's), by id. */
  public readonly alarms: Record<string, cloudwatch.Alarm> = {};
  public availabilitySlo?: BurnRateSlo;
  public latencySlo?: BurnRateSlo;
  /** The us-east-1 stack of the CloudFront and WAF alarms; set by {@link addEdge}. */
  public edgeAlarmsStack?: Stack;

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
      alarmFactoryDefaults: routing(this.prefix, props.topics),
      dashboardFactory: dashboards,
    });

    this.monitorDatabase();
    this.monitorCache();
    const rv = props.restoreVerification;
    if (rv) {
      this.monitorFunctions(
        {
          name: 'RestoreVerificationControl',
          function: rv.controlFunction,
          timeout: timeoutOf(rv.controlFunction),
        },
        {
          name: 'RestoreVerificationVerifier',
          function: rv.verifierFunction,
          timeout: timeoutOf(rv.verifierFunction),
        },
        { name: 'HeartbeatWriter', function: rv.heartbeatFunction, timeout: timeoutOf(rv.heartbeatFunction) },
      );
      this.heartbeatMissingAlarm = this.monitorHeartbeat(rv);
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: '### Restore verification (daily)', width: 24, height: 1 }),
        new cloudwatch.SingleValueWidget({
          title: 'Last restore verification: success (1), RPO and RTO (seconds)',
          metrics: [
            rv.metricSuccess({ period: Duration.days(1) }),
            rv.metricRpoSeconds({ period: Duration.days(1) }),
            rv.metricRtoSeconds({ period: Duration.days(1) }),
          ],
          width: 12,
          height: 4,
        }),
        new cloudwatch.AlarmStatusWidget({
          title: 'Restore verification alarms (defined by RestoreVerification)',
          alarms: [rv.failedAlarm, rv.runFailedAlarm, rv.rpoAlarm],
          width: 12,
          height: 4,
        }),
      );
    }
    [this.rollbackDrillStaleAlarm, this.rollbackDrillFailedAlarm] = this.monitorRollbackDrills();
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
    return `${this.props.runbookBaseUrl}/${file}`;
  }

  /**
   * Alarms on errors, throttles, duration near timeout and concurrent executions of each
   * function (cdk-monitoring-constructs), and adds them to the dashboard.
   */
  public monitorFunctions(...functions: MonitoredFunction[]): void {
    const concurrency = this.props.maxConcurrentExecutions ?? 800;
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

  /**
   * Adds what needs the edge: the SLOs on the HTTP API (whose availability fast-burn alarm joins
   * {@link deploymentRollbackAlarms}), API Gateway alarms, and the CloudFront and WAF alarms in a
   * us-east-1 stack (`<stack>EdgeAlarms`) with its own topics.
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
    const clientErrors = api.metricClientError({ statistic: cloudwatch.Stats.SUM, period });
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

    const apiRunbook = 'api-gateway.md';
    this.alarm('Api5xxRate', {
      meaning:
        'More than 5% of API requests answered 5xx (at least 20 requests per 5 minutes), 3 periods in a row.',
      metric: rate(serverErrors, requests, 20, 'API 5xx rate (%)'),
      threshold: 5,
      severity: 'ticket',
      runbook: apiRunbook,
    });
    this.alarm('Api4xxSurge', {
      meaning:
        'More than 25% of API requests answered 4xx (at least 100 requests per 5 minutes), 3 periods in a row: a broken client, an auth problem or a scan.',
      metric: rate(clientErrors, requests, 100, 'API 4xx rate (%)'),
      threshold: 25,
      severity: 'ticket',
      runbook: apiRunbook,
    });
    this.alarm('ApiLatencyP99', {
      meaning: `API p99 latency above the ${slos.latencyThreshold.toMilliseconds()} ms SLO threshold, 3 periods of 5 minutes in a row.`,
      metric: api.metricLatency({ statistic: 'p99', period }),
      threshold: slos.latencyThreshold.toMilliseconds(),
      severity: 'ticket',
      runbook: apiRunbook,
    });

    this.monitorFunctions({
      name: 'OriginVerifyRotation',
      function: edge.originVerifyRotationFunction,
      timeout: timeoutOf(edge.originVerifyRotationFunction),
    });
    this.addSloDashboard(serverErrors, requests, latency);
    this.monitorEdgeInUsEast1(edge);
  }

  private monitorDatabase(): void {
    const { database, databaseAllocatedStorage, databaseMemory, proxyMaxConnectionsPercent } = this.props;
    const runbookLink = this.runbook('database.md');
    const maxConnections = Math.floor(databaseMemory.toBytes() / 9_531_392);
    const storage = databaseAllocatedStorage.toBytes();
    this.facade.monitorRdsInstance({
      instance: database.instance,
      alarmFriendlyName: 'Database',
      humanReadableName: 'RDS PostgreSQL',
      addCpuUsageAlarm: {
        [WARNING]: {
          maxUsagePercent: 80,
          runbookLink,
          alarmDescriptionOverride: 'Database CPU above 80%, 3 periods in a row.',
        },
        [CRITICAL]: {
          maxUsagePercent: 95,
          runbookLink,
          alarmDescriptionOverride: 'Database CPU above 95%, 3 periods in a row: queries queue.',
        },
      },
      addFreeStorageSpaceAlarm: {
        [WARNING]: {
          minCount: Math.floor(storage * 0.2),
          runbookLink,
          alarmDescriptionOverride:
            'Database free storage below 20% of the allocated size (autoscaling adds storage at 10%).',
        },
        [CRITICAL]: {
          minCount: Math.floor(storage * 0.05),
          runbookLink,
          alarmDescriptionOverride:
            'Database free storage below 5% of the allocated size: writes fail when it reaches 0.',
        },
      },
      addMaxConnectionCountAlarm: {
        [WARNING]: {
          maxConnectionCount: Math.floor(maxConnections * 0.8),
          runbookLink,
          alarmDescriptionOverride: `Database connections above 80% of the estimated max_connections (${maxConnections}).`,
        },
      },
    });

    const period = Duration.minutes(5);
    const memory = database.metricFreeableMemory({ period });
    this.alarm('DatabaseFreeableMemoryLow', {
      meaning:
        'Database freeable memory below 128 MiB, 3 periods in a row: the instance swaps or the OOM killer restarts PostgreSQL.',
      metric: memory,
      threshold: Size.mebibytes(128).toBytes(),
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      severity: 'page',
      runbook: 'database.md',
    });
    this.alarm('DatabaseFreeableMemoryWarning', {
      meaning: 'Database freeable memory below 256 MiB, 3 periods in a row.',
      metric: memory,
      threshold: Size.mebibytes(256).toBytes(),
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      severity: 'ticket',
      runbook: 'database.md',
    });
    for (const [name, metric] of [
      ['Read', database.metricReadLatency({ period })],
      ['Write', database.metricWriteLatency({ period })],
    ] as const) {
      this.alarm(`Database${name}Latency`, {
        meaning: `Database ${name.toLowerCase()} latency (disk I/O) above 20 ms on average, 3 periods in a row.`,
        metric,
        threshold: 0.02,
        severity: 'ticket',
        runbook: 'database.md',
      });
      this.alarm(`Database${name}LatencyCritical`, {
        meaning: `Database ${name.toLowerCase()} latency (disk I/O) above 100 ms on average, 3 periods in a row: storage is saturated.`,
        metric,
        threshold: 0.1,
        severity: 'page',
        runbook: 'database.md',
      });
    }

    const poolLimit = Math.floor((maxConnections * proxyMaxConnectionsPercent) / 100);
    const poolConnections = database.metricProxy('DatabaseConnections', { statistic: 'Maximum', period });
    this.alarm('ProxyPoolNearLimit', {
      meaning: `RDS Proxy holds more than 90% of its ${poolLimit} database connections (${proxyMaxConnectionsPercent}% of max_connections): clients will wait to borrow one.`,
      metric: poolConnections,
      threshold: Math.floor(poolLimit * 0.9),
      severity: 'ticket',
      runbook: 'database.md',
    });
    const borrow = database.metricProxyBorrowLatency({ period });
    this.alarm('ProxyBorrowLatency', {
      meaning:
        'RDS Proxy p99 borrow latency above 100 ms, 3 periods in a row: the pool is exhausted or the database is slow to connect.',
      metric: borrow,
      threshold: 100_000,
      severity: 'ticket',
      runbook: 'database.md',
    });
    this.alarm('ProxyBorrowLatencyCritical', {
      meaning: 'RDS Proxy p99 borrow latency above 1 s, 3 periods in a row: requests queue for a connection.',
      metric: borrow,
      threshold: 1_000_000,
      severity: 'page',
      runbook: 'database.md',
    });
    const pinned = database.metricProxy('DatabaseConnectionsCurrentlySessionPinned', {
      statistic: 'Maximum',
      period,
    });
    this.alarm('ProxyPinnedSessions', {
      meaning:
        'RDS Proxy has session-pinned connections for 15 minutes: pooling is defeated (session-level SET, temp tables, prepared statements).',
      metric: pinned,
      threshold: 0,
      severity: 'ticket',
      runbook: 'database.md',
    });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '### RDS Proxy', width: 24, height: 1 }),
      new cloudwatch.GraphWidget({
        title: 'Proxy connections (client, database, pinned)',
        left: [database.metricProxyClientConnections({ period }), poolConnections, pinned],
        leftAnnotations: [{ value: poolLimit, label: 'pool limit' }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: 'Proxy borrow latency p99 (µs)', left: [borrow], width: 12 }),
    );
  }

  private monitorCache(): void {
    const { cache } = this.props;
    const rotation = cache.authTokenRotation.function;
    this.monitorFunctions({ name: 'CacheAuthRotation', function: rotation, timeout: timeoutOf(rotation) });
    const period = Duration.minutes(5);
    const cpu = cache.metricEngineCpu({ period });
    const memory = cache.metricMemoryUsage({ period });
    const evictions = cache.metricEvictions({ period });
    const connections = cache.metricConnections({ period });
    const r = 'cache.md';
    this.alarm('CacheEngineCpu', {
      meaning: 'Cache engine CPU above 80% on a node, 3 periods in a row.',
      metric: cpu,
      threshold: 80,
      severity: 'ticket',
      runbook: r,
    });
    this.alarm('CacheEngineCpuCritical', {
      meaning:
        'Cache engine CPU above 95% on a node, 3 periods in a row: commands queue (Valkey runs them on one thread).',
      metric: cpu,
      threshold: 95,
      severity: 'page',
      runbook: r,
    });
    this.alarm('CacheMemory', {
      meaning: 'Cache memory above 80% of maxmemory on a node, 3 periods in a row.',
      metric: memory,
      threshold: 80,
      severity: 'ticket',
      runbook: r,
    });
    this.alarm('CacheMemoryCritical', {
      meaning: 'Cache memory above 95% of maxmemory on a node, 3 periods in a row: keys are evicted.',
      metric: memory,
      threshold: 95,
      severity: 'page',
      runbook: r,
    });
    this.alarm('CacheEvictions', {
      meaning:
        'The cache evicted keys in 3 periods of 5 minutes in a row: it is too small for the working set.',
      metric: evictions,
      threshold: 0,
      severity: 'ticket',
      runbook: r,
    });
    this.alarm('CacheConnections', {
      meaning:
        'More than 5,000 client connections to the cache, 3 periods in a row: a connection leak (the limit is 65,000).',
      metric: connections,
      threshold: 5_000,
      severity: 'ticket',
      runbook: r,
    });
    // One metric per graph: each combines the nodes with its own metric ids.
    const graphs: Array<[string, cloudwatch.IMetric]> = [
      ['Cache engine CPU (%, max over nodes)', cpu],
      ['Cache memory (% of maxmemory, max over nodes)', memory],
      ['Cache evictions (per 5 minutes)', evictions],
      ['Cache client connections', connections],
    ];
    if (cache.nodeCount > 1) {
      const lag = cache.metricReplicationLag({ period });
      this.alarm('CacheReplicationLag', {
        meaning:
          'A cache replica lags its primary by more than 5 s, 3 periods in a row: a failover would lose writes.',
        metric: lag,
        threshold: 5,
        severity: 'ticket',
        runbook: r,
      });
      graphs.push(['Cache replication lag (s)', lag]);
    }
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '### Cache (Valkey)', width: 24, height: 1 }),
      ...graphs.map(
        ([title, metric]) => new cloudwatch.GraphWidget({ title, left: [metric], width: 24 / graphs.length }),
      ),
    );
  }

  private monitorHeartbeat(rv: RestoreVerification): cloudwatch.Alarm {
    const interval = this.props.heartbeatInterval ?? Duration.minutes(5);
    const minutes = Math.max(5, Math.ceil(interval.toMinutes({ integral: false }) * 3));
    const period = Duration.minutes(minutes);
    const fn = rv.heartbeatFunction;
    return this.alarm('HeartbeatMissing', {
      meaning: `No heartbeat written for ${minutes} minutes (3 intervals): the writer does not run or cannot reach the database, and restore verification cannot measure the RPO.`,
      metric: new cloudwatch.MathExpression({
        expression: 'invocations - FILL(errors, 0)',
        usingMetrics: {
          invocations: fn.metricInvocations({ statistic: cloudwatch.Stats.SUM, period }),
          errors: fn.metricErrors({ statistic: cloudwatch.Stats.SUM, period }),
        },
        period,
        label: 'Heartbeats written',
      }),
      threshold: 1,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      severity: 'ticket',
      runbook: 'heartbeat.md',
    });
  }

  private monitorRollbackDrills(): [cloudwatch.Alarm, cloudwatch.Alarm] {
    const configured = this.props.rollbackDrillMaxAge ?? Duration.days(14);
    const days = Math.min(7, Math.ceil(configured.toDays({ integral: false })));
    const metric = (statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'Shipshape/Deployments',
        metricName: 'DrillSucceeded',
        dimensionsMap: { Environment: this.props.environmentName },
        statistic,
        period: Duration.days(1),
      });
    const clamped =
      days < configured.toDays({ integral: false })
        ? ` (configured ${configured.toHumanString()}, clamped: CloudWatch evaluates at most 7 daily datapoints)`
        : '';
    const stale = this.alarm('RollbackDrillStale', {
      meaning: `No successful rollback drill in ${this.props.environmentName} for ${days} days${clamped}: rollback is unproven. Run \`shipshape drill\`.`,
      metric: metric(cloudwatch.Stats.MAXIMUM),
      threshold: 1,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: days,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      severity: 'ticket',
      runbook: 'rollback-drill.md',
    });
    const failed = this.alarm('RollbackDrillFailed', {
      meaning: `A rollback drill in ${this.props.environmentName} failed today: the rollback path is broken.`,
      metric: metric(cloudwatch.Stats.MINIMUM),
      threshold: 1,
      comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      severity: 'ticket',
      runbook: 'rollback-drill.md',
    });
    const drill = (name: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'Shipshape/Deployments',
        metricName: name,
        dimensionsMap: { Environment: this.props.environmentName },
        statistic,
        period: Duration.days(7),
      });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '### Deployments and rollback drills', width: 24, height: 1 }),
      new cloudwatch.SingleValueWidget({
        title: 'Last drill (7 days): succeeded, time to roll back and to recover (s)',
        metrics: [
          drill('DrillSucceeded', cloudwatch.Stats.MAXIMUM),
          drill('TimeToRollbackSeconds', cloudwatch.Stats.MAXIMUM),
          drill('TimeToRecoverSeconds', cloudwatch.Stats.MAXIMUM),
        ],
        width: 12,
        height: 4,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Drill alarms',
        alarms: [stale, failed],
        width: 12,
        height: 4,
      }),
    );
    return [stale, failed];
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

  private addSloDashboard(
    serverErrors: cloudwatch.Metric,
    requests: cloudwatch.Metric,
    latency: cloudwatch.Metric,
  ): void {
    const { slos } = this.props;
    const availabilityBudget = (100 - slos.availabilityTargetPercent) / 100;
    const latencyBudget = (100 - slos.latencyTargetPercent) / 100;
    const ms = slos.latencyThreshold.toMilliseconds();
    const month = { statistic: cloudwatch.Stats.SUM, period: Duration.days(30) };
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `### SLOs (30 days): availability ${slos.availabilityTargetPercent}%, latency ${slos.latencyTargetPercent}% under ${ms} ms`,
        width: 24,
        height: 1,
      }),
      new cloudwatch.SingleValueWidget({
        title: 'SLO attainment and remaining error budget (%, last 30 days)',
        metrics: [
          new cloudwatch.MathExpression({
            expression: 'IF(total > 0, 100 * (1 - bad / total), 100)',
            usingMetrics: { bad: serverErrors.with(month), total: requests.with(month) },
            label: 'Availability',
            period: Duration.days(30),
          }),
          new cloudwatch.MathExpression({
            expression: `IF(total2 > 0, 100 * (1 - (bad2 / total2) / ${availabilityBudget}), 100)`,
            usingMetrics: { bad2: serverErrors.with(month), total2: requests.with(month) },
            label: 'Availability budget left',
            period: Duration.days(30),
          }),
          latency.with({
            statistic: `PR(:${ms})`,
            period: Duration.days(30),
            label: `Latency (under ${ms} ms)`,
          }),
          new cloudwatch.MathExpression({
            expression: `100 * (1 - ((100 - fast) / 100) / ${latencyBudget})`,
            usingMetrics: { fast: latency.with({ statistic: `PR(:${ms})`, period: Duration.days(30) }) },
            label: 'Latency budget left',
            period: Duration.days(30),
          }),
        ],
        setPeriodToTimeRange: true,
        start: '-P30D',
        width: 24,
        height: 4,
      }),
      new cloudwatch.GraphWidget({
        title: 'API requests and errors (per 5 minutes)',
        left: [requests],
        right: [serverErrors],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency percentiles (ms)',
        left: ['p50', 'p90', 'p99'].map((p) => latency.with({ statistic: p, label: p })),
        leftAnnotations: [{ value: ms, label: 'SLO threshold' }],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'SLO burn-rate alerts',
        alarms: [...this.availabilitySlo!.alerts, ...this.latencySlo!.alerts].map((a) => a.alarm),
        width: 24,
        height: 3,
      }),
    );
  }

  private monitorEdgeInUsEast1(edge: Edge): void {
    const scopeStack = Stack.of(this);
    const stage = Stage.of(this);
    const id = `${scopeStack.node.id}EdgeAlarms`;
    if (!stage || stage.node.tryFindChild(id)) {
      throw new Error(
        `Observability '${this.node.path}': cannot create the us-east-1 stack '${id}' for the CloudFront and WAF alarms (no enclosing Stage, or the id is taken)`,
      );
    }
    const stack = new Stack(stage, id, {
      env: { account: scopeStack.account, region: 'us-east-1' },
      crossRegionReferences: true,
      terminationProtection: scopeStack.terminationProtection,
      description: `CloudFront and WAF alarms of ${this.node.path}: their metrics exist only in us-east-1`,
    });
    stack.addStackDependency(scopeStack, 'alarms on the distribution it creates');
    Validations.of(stack).acknowledge({
      id: guardRuleId('lambda_inside_vpc_check'),
      reason:
        "The only functions of this us-east-1 alarm stack are CDK's cross-region export reader (added during synthesis, so it can only be acknowledged from its stack); it calls SSM Parameter Store at deploy time and handles no application data.",
    });
    this.edgeAlarmsStack = stack;
    const topics = new AlarmTopics(stack, 'AlarmTopics', { pageEmail: this.props.alarmEmail });
    const facade = new MonitoringFacade(stack, 'Monitoring', {
      alarmFactoryDefaults: routing(this.prefix, topics),
      dashboardFactory: new DefaultDashboardFactory(stack, 'Dashboards', {
        dashboardNamePrefix: `${this.prefix}-Edge`,
        createDashboard: false,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });
    const edgeRunbook = this.runbook('cloudfront-waf.md');
    facade.monitorCloudFrontDistribution({
      distribution: edge.distribution,
      alarmFriendlyName: 'CloudFront',
      addFault5xxRate: {
        [WARNING]: {
          maxErrorRate: 2,
          runbookLink: edgeRunbook,
          alarmDescriptionOverride: 'CloudFront answered more than 2% 5xx, 3 periods in a row.',
        },
        [CRITICAL]: {
          maxErrorRate: 10,
          runbookLink: edgeRunbook,
          alarmDescriptionOverride:
            'CloudFront answered more than 10% 5xx, 3 periods in a row: the origin is unreachable or failing.',
        },
      },
    });
    const blocked = this.props.blockedRequestsPer5Min ?? 1_000;
    facade.monitorWebApplicationFirewallAclV2({
      acl: edge.firewall.webAcl,
      alarmFriendlyName: 'Waf',
      addBlockedRequestsCountAlarm: {
        [WARNING]: {
          maxErrorCount: blocked,
          runbookLink: this.runbook('waf-rate-limit.md'),
          alarmDescriptionOverride: `The web ACL blocked more than ${blocked} requests per 5 minutes, 3 periods in a row: an attack, a scan, or a rule blocking real users.`,
        },
      },
    });
    const originLatency = new cloudwatch.Metric({
      namespace: 'AWS/CloudFront',
      metricName: 'OriginLatency',
      dimensionsMap: { DistributionId: edge.distribution.distributionId, Region: 'Global' },
      statistic: 'p90',
      period: Duration.minutes(5),
    });
    const threshold = this.props.slos.latencyThreshold.toMilliseconds() * 2;
    this.alarm(
      'CloudFrontOriginLatency',
      {
        meaning: `CloudFront p90 origin latency above ${threshold} ms (twice the latency SLO threshold), 3 periods in a row.`,
        metric: originLatency,
        threshold,
        severity: 'ticket',
        runbook: 'cloudfront-waf.md',
      },
      stack,
      topics,
    );
    if (this.props.cloudFrontAdditionalMetrics ?? true) {
      new cloudfront.CfnMonitoringSubscription(this, 'CloudFrontAdditionalMetrics', {
        distributionId: edge.distribution.distributionId,
        monitoringSubscription: {
          realtimeMetricsSubscriptionConfig: { realtimeMetricsSubscriptionStatus: 'Enabled' },
        },
      });
    }
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '### Edge (us-east-1 metrics)', width: 24, height: 1 }),
      new cloudwatch.GraphWidget({
        title: 'CloudFront 5xx rate (%) and origin latency p90 (ms)',
        left: [
          new cloudwatch.Metric({
            namespace: 'AWS/CloudFront',
            metricName: '5xxErrorRate',
            dimensionsMap: { DistributionId: edge.distribution.distributionId, Region: 'Global' },
            statistic: 'Average',
            region: 'us-east-1',
          }),
        ],
        right: [originLatency.with({ region: 'us-east-1' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'WAF blocked requests (per 5 minutes)',
        left: [edge.metricBlockedRequests()],
        width: 12,
      }),
    );
  }

  private alarm(
    id: string,
    spec: {
      meaning: string;
      metric: cloudwatch.IMetric;
      threshold: number;
      severity: Severity;
      runbook: string;
      comparison?: cloudwatch.ComparisonOperator;
      evaluationPeriods?: number;
      treatMissingData?: cloudwatch.TreatMissingData;
    },
    scope: Construct = this,
    topics: AlarmTopics = this.topics,
  ): cloudwatch.Alarm {
    const periods = spec.evaluationPeriods ?? 3;
    const alarm = new cloudwatch.Alarm(scope, id, {
      alarmName: `${this.prefix}-${id}`,
      alarmDescription: `${spec.meaning}\nSeverity: ${spec.severity}.\nRunbook: ${this.runbook(spec.runbook)}`,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: spec.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const topic: sns.ITopic = spec.severity === 'page' ? topics.page : topics.ticket;
    alarm.addAlarmAction(new cwActions.SnsAction(topic));
    alarm.addOkAction(new cwActions.SnsAction(topic));
    this.alarms[id] = alarm;
    return alarm;
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

/** Warning → ticket, Critical → page, each with the same topic as OK action. */
function routing(prefix: string, topics: AlarmTopics) {
  const byTopic = (topic: sns.ITopic): IAlarmActionStrategy => notifySns(topic, topic);
  return {
    alarmNamePrefix: prefix,
    actionsEnabled: true,
    disambiguatorAction: { [WARNING]: byTopic(topics.ticket), [CRITICAL]: byTopic(topics.page) },
  };
}

/** Share (%) of `bad` over `total`, 0 when fewer than `minTotal` requests. */
function rate(
  bad: cloudwatch.Metric,
  total: cloudwatch.Metric,
  minTotal: number,
  label: string,
): cloudwatch.IMetric {
  return new cloudwatch.MathExpression({
    expression: `IF(total >= ${minTotal}, 100 * bad / total, 0)`,
    usingMetrics: { bad, total },
    label,
    period: total.period,
  });
}

function timeoutOf(fn: lambda.IFunction): Duration {
  return fn instanceof lambda.Function && fn.timeout ? fn.timeout : Duration.seconds(3);
}

/** Memory of an RDS instance class (`t4g.medium`, `r7g.2xlarge`), for the max_connections estimate. */
export function instanceClassMemory(instanceClass: string): Size {
  const match = /^(t\d\w*|m\d\w*|r\d\w*)\.(micro|small|medium|large|(\d*)xlarge)$/.exec(instanceClass);
  if (!match)
    throw new Error(`Unknown RDS instance class '${instanceClass}': expected e.g. t4g.medium or r7g.large`);
  const family = match[1][0];
  const gib: Record<string, number> = { micro: 1, small: 2, medium: 4, large: 8 };
  let memory = match[2].endsWith('xlarge') ? 16 * Number(match[3] || 1) : gib[match[2]];
  if (family === 'r') memory *= 2;
  return Size.gibibytes(memory);
}
