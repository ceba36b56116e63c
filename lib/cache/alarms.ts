// The alarms and dashboard widgets of Cache: engine CPU, memory, evictions, connections and
// replication lag. The library's ElastiCache monitoring watches one node; a Valkey replication
// group spans several, so each metric here combines every node (Cache.metric*).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { AlarmTarget } from '../observability/alarm-target';
import type { Cache } from './cache';

/** Creates the cache's alarms and widgets in `target` (called by {@link Cache.addAlarms}). */
export function addCacheAlarms(cache: Cache, target: AlarmTarget): void {
  const period = Duration.minutes(5);
  const cpu = cache.metricEngineCpu({ period });
  const memory = cache.metricMemoryUsage({ period });
  const evictions = cache.metricEvictions({ period });
  const connections = cache.metricConnections({ period });
  const r = 'cache.md';
  const rotation = cache.authTokenRotation.function;
  target.monitorFunctions({ name: 'CacheAuthRotation', function: rotation, timeout: rotation.timeout });
  target.alarm('CacheEngineCpu', {
    meaning: 'Cache engine CPU above 80% on a node, 3 periods in a row.',
    metric: cpu,
    threshold: 80,
    severity: 'ticket',
    runbook: r,
  });
  target.alarm('CacheEngineCpuCritical', {
    meaning:
      'Cache engine CPU above 95% on a node, 3 periods in a row: commands queue (Valkey runs them on one thread).',
    metric: cpu,
    threshold: 95,
    severity: 'page',
    runbook: r,
  });
  target.alarm('CacheMemory', {
    meaning: 'Cache memory above 80% of maxmemory on a node, 3 periods in a row.',
    metric: memory,
    threshold: 80,
    severity: 'ticket',
    runbook: r,
  });
  target.alarm('CacheMemoryCritical', {
    meaning: 'Cache memory above 95% of maxmemory on a node, 3 periods in a row: keys are evicted.',
    metric: memory,
    threshold: 95,
    severity: 'page',
    runbook: r,
  });
  target.alarm('CacheEvictions', {
    meaning:
      'The cache evicted keys in 3 periods of 5 minutes in a row: it is too small for the working set.',
    metric: evictions,
    threshold: 0,
    severity: 'ticket',
    runbook: r,
  });
  target.alarm('CacheConnections', {
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
    target.alarm('CacheReplicationLag', {
      meaning:
        'A cache replica lags its primary by more than 5 s, 3 periods in a row: a failover would lose writes.',
      metric: lag,
      threshold: 5,
      severity: 'ticket',
      runbook: r,
    });
    graphs.push(['Cache replication lag (s)', lag]);
  }
  target.addWidgets(
    new cloudwatch.TextWidget({ markdown: '### Cache (Valkey)', width: 24, height: 1 }),
    ...graphs.map(
      ([title, metric]) => new cloudwatch.GraphWidget({ title, left: [metric], width: 24 / graphs.length }),
    ),
  );
}
