// The alarms and dashboard widgets of Edge: API Gateway 5xx rate, 4xx surge and p99 latency (on
// `ApiId` alone: the stage is `$default`, and cdk-monitoring-constructs always adds a `Stage`
// dimension), the origin-verify rotation function, and the CloudFront and WAF alarms. CloudFront
// and WAF metrics exist only in us-east-1 and an alarm's SNS action must be in the alarm's region
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/monitoring-using-cloudwatch.html),
// so those alarms go into a us-east-1 stack `<stack>EdgeAlarms` with its own topics.
import { Duration, Stack, Stage, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DefaultDashboardFactory, MonitoringFacade } from 'cdk-monitoring-constructs';
import {
  type AlarmTarget,
  CRITICAL,
  severityRouting,
  timeoutOf,
  WARNING,
} from '../observability/alarm-target';
import { AlarmTopics } from '../observability/alarm-topics';
import { guardRuleId } from '../policy/readiness-rules';
import type { Edge } from './edge';

/** Options of {@link Edge.addAlarms}. */
export interface EdgeAlarmOptions {
  /** The latency SLO threshold: p99 API latency above it opens a ticket, CloudFront origin latency above twice it too. */
  readonly latencyThreshold: Duration;
  /** E-mail subscribed to the us-east-1 topics of the CloudFront and WAF alarms. */
  readonly alarmEmail: string;
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

/** Creates the edge's alarms and widgets; returns the us-east-1 stack of the CloudFront and WAF alarms. */
export function addEdgeAlarms(edge: Edge, target: AlarmTarget, options: EdgeAlarmOptions): Stack {
  const api = edge.httpApi;
  const period = Duration.minutes(5);
  const requests = api.metricCount({ statistic: cloudwatch.Stats.SUM, period });
  const serverErrors = api.metricServerError({ statistic: cloudwatch.Stats.SUM, period });
  const clientErrors = api.metricClientError({ statistic: cloudwatch.Stats.SUM, period });
  const latencyThreshold = options.latencyThreshold;
  const apiRunbook = 'api-gateway.md';
  target.alarm('Api5xxRate', {
    meaning:
      'More than 5% of API requests answered 5xx (at least 20 requests per 5 minutes), 3 periods in a row.',
    metric: rate(serverErrors, requests, 20, 'API 5xx rate (%)'),
    threshold: 5,
    severity: 'ticket',
    runbook: apiRunbook,
  });
  target.alarm('Api4xxSurge', {
    meaning:
      'More than 25% of API requests answered 4xx (at least 100 requests per 5 minutes), 3 periods in a row: a broken client, an auth problem or a scan.',
    metric: rate(clientErrors, requests, 100, 'API 4xx rate (%)'),
    threshold: 25,
    severity: 'ticket',
    runbook: apiRunbook,
  });
  target.alarm('ApiLatencyP99', {
    meaning: `API p99 latency above the ${latencyThreshold.toMilliseconds()} ms SLO threshold, 3 periods of 5 minutes in a row.`,
    metric: api.metricLatency({ statistic: 'p99', period }),
    threshold: latencyThreshold.toMilliseconds(),
    severity: 'ticket',
    runbook: apiRunbook,
  });

  target.monitorFunctions({
    name: 'OriginVerifyRotation',
    function: edge.originVerifyRotationFunction,
    timeout: timeoutOf(edge.originVerifyRotationFunction),
  });

  return addUsEast1Alarms(edge, target, options);
}

function addUsEast1Alarms(edge: Edge, target: AlarmTarget, options: EdgeAlarmOptions): Stack {
  const scopeStack = Stack.of(target.scope);
  const stage = Stage.of(target.scope);
  const id = `${scopeStack.node.id}EdgeAlarms`;
  if (!stage || stage.node.tryFindChild(id)) {
    throw new Error(
      `Edge '${edge.node.path}': cannot create the us-east-1 stack '${id}' for the CloudFront and WAF alarms (no enclosing Stage, or the id is taken)`,
    );
  }
  const stack = new Stack(stage, id, {
    env: { account: scopeStack.account, region: 'us-east-1' },
    crossRegionReferences: true,
    terminationProtection: scopeStack.terminationProtection,
    description: `CloudFront and WAF alarms of ${target.scope.node.path}: their metrics exist only in us-east-1`,
  });
  stack.addStackDependency(scopeStack, 'alarms on the distribution it creates');
  Validations.of(stack).acknowledge({
    id: guardRuleId('lambda_inside_vpc_check'),
    reason:
      "The only functions of this us-east-1 alarm stack are CDK's cross-region export reader (added during synthesis, so it can only be acknowledged from its stack); it calls SSM Parameter Store at deploy time and handles no application data.",
  });
  const topics = new AlarmTopics(stack, 'AlarmTopics', { pageEmail: options.alarmEmail });
  const facade = new MonitoringFacade(stack, 'Monitoring', {
    alarmFactoryDefaults: severityRouting(target.alarmNamePrefix, topics),
    dashboardFactory: new DefaultDashboardFactory(stack, 'Dashboards', {
      dashboardNamePrefix: `${target.alarmNamePrefix}-Edge`,
      createDashboard: false,
      createSummaryDashboard: false,
      createAlarmDashboard: false,
    }),
  });
  const edgeTarget = target.withScope(stack, topics, facade);
  const edgeRunbook = target.runbook('cloudfront-waf.md');
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
  const blocked = options.blockedRequestsPer5Min ?? 1_000;
  facade.monitorWebApplicationFirewallAclV2({
    acl: edge.firewall.webAcl,
    alarmFriendlyName: 'Waf',
    addBlockedRequestsCountAlarm: {
      [WARNING]: {
        maxErrorCount: blocked,
        runbookLink: target.runbook('waf-rate-limit.md'),
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
  const threshold = options.latencyThreshold.toMilliseconds() * 2;
  edgeTarget.alarm('CloudFrontOriginLatency', {
    meaning: `CloudFront p90 origin latency above ${threshold} ms (twice the latency SLO threshold), 3 periods in a row.`,
    metric: originLatency,
    threshold,
    severity: 'ticket',
    runbook: 'cloudfront-waf.md',
  });
  if (options.cloudFrontAdditionalMetrics ?? true) {
    new cloudfront.CfnMonitoringSubscription(target.scope, 'CloudFrontAdditionalMetrics', {
      distributionId: edge.distribution.distributionId,
      monitoringSubscription: {
        realtimeMetricsSubscriptionConfig: { realtimeMetricsSubscriptionStatus: 'Enabled' },
      },
    });
  }
  target.addWidgets(
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
  return stack;
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
