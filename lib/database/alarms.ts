// The alarms and dashboard widgets of Database: RDS CPU, free storage and connections
// (cdk-monitoring-constructs), freeable memory and read/write latency, and the RDS Proxy pool
// (near its limit, borrow latency, pinned sessions). Created where the AlarmTarget says.
import { Duration, Size } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { type AlarmTarget, CRITICAL, WARNING } from '../observability/alarm-target';
import type { Database } from './database';

/** What the database alarms need to know beyond the construct. */
export interface DatabaseAlarmOptions {
  /**
   * Size allocated to the database: the free-storage thresholds are shares of it.
   * @default - the database's `allocatedStorage`
   */
  readonly allocatedStorage?: Size;
  /**
   * Memory of the instance class: estimates `max_connections` (PostgreSQL: memory / 9,531,392).
   * @default - from the database's instance type ({@link instanceClassMemory})
   */
  readonly instanceMemory?: Size;
  /**
   * Share of `max_connections` the RDS Proxy may open, in percent.
   * @default - the database's proxy `maxConnectionsPercent`
   */
  readonly proxyMaxConnectionsPercent?: number;
}

/** Creates the database's alarms and widgets in `target` (called by {@link Database.addAlarms}). */
export function addDatabaseAlarms(
  database: Database,
  target: AlarmTarget,
  options: Required<DatabaseAlarmOptions>,
): void {
  const { allocatedStorage, instanceMemory, proxyMaxConnectionsPercent } = options;
  const runbookLink = target.runbook('database.md');
  const maxConnections = Math.floor(instanceMemory.toBytes() / 9_531_392);
  const storage = allocatedStorage.toBytes();
  target.facade.monitorRdsInstance({
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
  target.alarm('DatabaseFreeableMemoryLow', {
    meaning:
      'Database freeable memory below 128 MiB, 3 periods in a row: the instance swaps or the OOM killer restarts PostgreSQL.',
    metric: memory,
    threshold: Size.mebibytes(128).toBytes(),
    comparison: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    severity: 'page',
    runbook: 'database.md',
  });
  target.alarm('DatabaseFreeableMemoryWarning', {
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
    target.alarm(`Database${name}Latency`, {
      meaning: `Database ${name.toLowerCase()} latency (disk I/O) above 20 ms on average, 3 periods in a row.`,
      metric,
      threshold: 0.02,
      severity: 'ticket',
      runbook: 'database.md',
    });
    target.alarm(`Database${name}LatencyCritical`, {
      meaning: `Database ${name.toLowerCase()} latency (disk I/O) above 100 ms on average, 3 periods in a row: storage is saturated.`,
      metric,
      threshold: 0.1,
      severity: 'page',
      runbook: 'database.md',
    });
  }

  const poolLimit = Math.floor((maxConnections * proxyMaxConnectionsPercent) / 100);
  const poolConnections = database.metricProxy('DatabaseConnections', { statistic: 'Maximum', period });
  target.alarm('ProxyPoolNearLimit', {
    meaning: `RDS Proxy holds more than 90% of its ${poolLimit} database connections (${proxyMaxConnectionsPercent}% of max_connections): clients will wait to borrow one.`,
    metric: poolConnections,
    threshold: Math.floor(poolLimit * 0.9),
    severity: 'ticket',
    runbook: 'database.md',
  });
  const borrow = database.metricProxyBorrowLatency({ period });
  target.alarm('ProxyBorrowLatency', {
    meaning:
      'RDS Proxy p99 borrow latency above 100 ms, 3 periods in a row: the pool is exhausted or the database is slow to connect.',
    metric: borrow,
    threshold: 100_000,
    severity: 'ticket',
    runbook: 'database.md',
  });
  target.alarm('ProxyBorrowLatencyCritical', {
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
  target.alarm('ProxyPinnedSessions', {
    meaning:
      'RDS Proxy has session-pinned connections for 15 minutes: pooling is defeated (session-level SET, temp tables, prepared statements).',
    metric: pinned,
    threshold: 0,
    severity: 'ticket',
    runbook: 'database.md',
  });

  target.addWidgets(
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
