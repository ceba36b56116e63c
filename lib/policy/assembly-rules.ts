/**
 * Rules about what the whole assembly lacks, which no single resource can answer: does every
 * public entry point and datastore have an alarm that notifies someone, and does any alarm page a
 * human at all. Alarms often live in another stack (or region) than what they watch, so these
 * read every stack at once and follow exports and cross-region references. They run in the audit
 * only; the per-resource rules are shared with the cdk-nag pack.
 */
import { type AssemblyReferences, type AssemblyStack, type ResourceRef } from './assembly';
import { fail, NA, OK, type RuleInfo, type RuleResult } from './rule';
import { ownsItsData } from './rules/datastores';
import {
  bool,
  compositeAlarmInputsOf,
  isObject,
  list,
  literalStrings,
  prop,
  referencedLogicalId,
  type JsonValue,
  type TemplateResource,
} from './template';

/** Everything an assembly rule may look at. */
export interface AssemblyModel {
  readonly stacks: readonly AssemblyStack[];
  readonly references: AssemblyReferences;
}

/** One outcome of an assembly rule: about a resource, or (no resource) about the assembly. */
export interface AssemblyEvaluation {
  readonly stack?: AssemblyStack;
  readonly resource?: TemplateResource;
  readonly result: RuleResult;
}

export interface AssemblyRule extends RuleInfo {
  evaluate(model: AssemblyModel): AssemblyEvaluation[];
}

const ALARM_TYPES = ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'];

interface AlarmFacts {
  readonly stack: AssemblyStack;
  readonly alarm: TemplateResource;
  readonly notifies: boolean;
  /** Resources its metrics' dimensions point at, as `<stack artifact>/<logical id>`. */
  readonly watches: ReadonlySet<string>;
  /** Literal dimension values (names of resources outside CloudFormation's references). */
  readonly literals: ReadonlySet<string>;
}

const key = (ref: ResourceRef) => `${ref.stack.artifactId}/${ref.logicalId}`;

function dimensionValues(value: JsonValue | undefined, into: JsonValue[] = []): JsonValue[] {
  if (Array.isArray(value)) {
    for (const item of value) dimensionValues(item, into);
  } else if (isObject(value)) {
    for (const [k, child] of Object.entries(value)) {
      if (k === 'Dimensions') {
        for (const d of list(child)) if (isObject(d)) into.push(d.Value);
      } else {
        dimensionValues(child, into);
      }
    }
  }
  return into;
}

function enabledActions(alarm: TemplateResource): boolean {
  return list(alarm.properties.AlarmActions).length > 0 && bool(alarm.properties.ActionsEnabled) !== false;
}

const factsCache = new WeakMap<AssemblyModel, AlarmFacts[]>();

/** Facts about every alarm: whether it notifies (itself or through a composite) and what it watches. */
function alarmFacts(model: AssemblyModel): AlarmFacts[] {
  const cached = factsCache.get(model);
  if (cached) return cached;
  const facts = computeAlarmFacts(model);
  factsCache.set(model, facts);
  return facts;
}

function computeAlarmFacts(model: AssemblyModel): AlarmFacts[] {
  const notifyingInputs = new Set<string>();
  for (const stack of model.stacks) {
    const composites = [...stack.resources.values()].filter(
      (r) => r.type === 'AWS::CloudWatch::CompositeAlarm' && enabledActions(r),
    );
    compositeAlarmInputsOf(composites, notifyingInputs);
  }
  const out: AlarmFacts[] = [];
  for (const stack of model.stacks) {
    for (const alarm of stack.resources.values()) {
      if (!ALARM_TYPES.includes(alarm.type)) continue;
      const name = alarm.properties.AlarmName;
      const notifies =
        enabledActions(alarm) ||
        notifyingInputs.has(alarm.logicalId) ||
        (typeof name === 'string' && notifyingInputs.has(name));
      const watches = new Set<string>();
      const literals = new Set<string>();
      for (const value of dimensionValues(alarm.properties)) {
        for (const ref of model.references.resolve(stack, value)) watches.add(key(ref));
        for (const text of literalStrings(value)) literals.add(text);
      }
      out.push({ stack, alarm, notifies, watches, literals });
    }
  }
  return out;
}

/** Literal names a resource is known by in metric dimensions (when not referenced). */
const NAME_PROPERTIES = [
  'TableName',
  'DBInstanceIdentifier',
  'DBClusterIdentifier',
  'Name',
  'ReplicationGroupId',
  'FunctionName',
];

function covered(
  facts: readonly AlarmFacts[],
  stack: AssemblyStack,
  resource: TemplateResource,
  extra: string[] = [],
): AlarmFacts[] {
  const ids = [resource.logicalId, ...extra].map((logicalId) => `${stack.artifactId}/${logicalId}`);
  const names = NAME_PROPERTIES.map((p) => resource.properties[p]).filter(
    (v): v is string => typeof v === 'string',
  );
  return facts.filter((f) => ids.some((id) => f.watches.has(id)) || names.some((n) => f.literals.has(n)));
}

function coverageResult(facts: readonly AlarmFacts[], what: string): RuleResult {
  if (facts.length === 0) return fail(`no alarm watches this ${what}`);
  if (facts.some((f) => f.notifies)) return OK;
  return fail(
    `alarm(s) ${facts.map((f) => f.alarm.logicalId).join(', ')} watch it but notify nobody (no enabled action)`,
  );
}

/** Public entry points, with the resources whose metrics count as theirs. */
function entryPoint(resource: TemplateResource, stack: AssemblyStack): string[] | undefined {
  const p = resource.properties;
  switch (resource.type) {
    case 'AWS::CloudFront::Distribution':
    case 'AWS::ApiGatewayV2::Api':
    case 'AWS::AppSync::GraphQLApi':
      return [];
    case 'AWS::ApiGateway::RestApi':
      return literalStrings(p.EndpointConfiguration).includes('PRIVATE') ? undefined : [];
    case 'AWS::ElasticLoadBalancingV2::LoadBalancer':
      return p.Scheme === 'internal' || (p.Type !== undefined && p.Type !== 'application') ? undefined : [];
    case 'AWS::Lambda::Url': {
      // A function URL's metrics are its function's (UrlRequestCount, Url5xxCount carry FunctionName).
      const target = referencedLogicalId(p.TargetFunctionArn);
      const fn = target ? stack.resources.get(target) : undefined;
      const behind =
        fn?.type === 'AWS::Lambda::Alias' ? referencedLogicalId(fn.properties.FunctionName) : undefined;
      return [target, behind].filter((id): id is string => id !== undefined);
    }
    default:
      return undefined;
  }
}

const entryPointAlarms: AssemblyRule = {
  id: 'EntryPointAlarms',
  group: 'visibility',
  severity: 'blocker',
  seed: 'Monitoring alerts configured',
  title: 'Every public entry point has an alarm with an action on its errors, latency or health',
  why:
    'Without an alarm on the front door, users find the outage first. The entry point sees failures the code ' +
    'behind it never logs: throttles, timeouts, integration and TLS errors, an origin that is down.',
  fix:
    'One alarm per entry point on its 5xx rate or latency, with an action: `new cloudwatch.Alarm(this, id, { metric: ' +
    'distribution.metric5xxErrorRate() /* httpApi.metricServerError(), restApi.metricServerError(), ' +
    'alb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT), graphqlApi.metric5XXError() */, threshold, ' +
    'evaluationPeriods }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))`. With Shipshape: `BurnRateSlo` on the same metrics.',
  fixByType: {
    'AWS::CloudFront::Distribution':
      '`new cloudwatch.Alarm(this, id, { metric: distribution.metric5xxErrorRate(), threshold: 5, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))` (CloudFront metrics are in us-east-1: define the alarm in a us-east-1 stack).',
    'AWS::ApiGateway::RestApi':
      '`new cloudwatch.Alarm(this, id, { metric: restApi.metricServerError(), threshold: 5, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))`, and one on `restApi.metricLatency()`.',
    'AWS::ApiGatewayV2::Api':
      '`new cloudwatch.Alarm(this, id, { metric: httpApi.metricServerError(), threshold: 5, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))` (WebSocket API: a `cloudwatch.Metric` on `AWS/ApiGateway` `IntegrationError` with `dimensionsMap: { ApiId: api.apiId }`).',
    'AWS::ElasticLoadBalancingV2::LoadBalancer':
      '`new cloudwatch.Alarm(this, id, { metric: alb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT), threshold: 10, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))`, and one on `alb.metrics.targetResponseTime()`.',
    'AWS::AppSync::GraphQLApi':
      '`new cloudwatch.Alarm(this, id, { metric: graphqlApi.metric5XXError(), threshold: 5, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))`.',
    'AWS::Lambda::Url':
      "`new cloudwatch.Alarm(this, id, { metric: fn.metric('Url5xxCount'), threshold: 5, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))`, and one on `fn.metricErrors()`.",
  },
  evaluate(model) {
    const facts = alarmFacts(model);
    const out: AssemblyEvaluation[] = [];
    for (const stack of model.stacks) {
      for (const resource of stack.resources.values()) {
        const extra = entryPoint(resource, stack);
        if (extra === undefined) continue;
        out.push({
          stack,
          resource,
          result: coverageResult(covered(facts, stack, resource, extra), 'entry point'),
        });
      }
    }
    return out;
  },
};

const DATASTORE_TYPES = [
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::CacheCluster',
  'AWS::ElastiCache::ServerlessCache',
  'AWS::EFS::FileSystem',
  'AWS::DocDB::DBCluster',
  'AWS::Neptune::DBCluster',
  'AWS::OpenSearchService::Domain',
];

const datastoreAlarms: AssemblyRule = {
  id: 'DatastoreAlarms',
  group: 'visibility',
  severity: 'hardening',
  seed: 'Monitoring alerts configured',
  title: 'Every datastore has an alarm with an action on its health (CPU, storage, connections, throttles)',
  why:
    'A database that runs out of storage or connections, or a table that throttles, takes the service down; ' +
    'the alarm gives minutes of warning instead of none.',
  fix:
    '`new cloudwatch.Alarm(this, id, { metric: db.metricFreeStorageSpace() /* db.metricCPUUtilization(), ' +
    'db.metricDatabaseConnections(), table.metricThrottledRequestsForOperations(...), fileSystem.metric(...) */, ' +
    '... }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))`. For ElastiCache, a `cloudwatch.Metric` with ' +
    '`namespace: "AWS/ElastiCache"` and `dimensionsMap: { CacheClusterId }`.',
  fixByType: {
    'AWS::RDS::DBInstance':
      '`new cloudwatch.Alarm(this, id, { metric: db.metricFreeStorageSpace(), threshold, comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))`, plus `db.metricCPUUtilization()` and `db.metricDatabaseConnections()`.',
    'AWS::RDS::DBCluster':
      '`new cloudwatch.Alarm(this, id, { metric: cluster.metricCPUUtilization(), threshold: 90, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))`, plus `cluster.metricFreeableMemory()` and `cluster.metricDatabaseConnections()`.',
    'AWS::DynamoDB::Table':
      '`new cloudwatch.Alarm(this, id, { metric: table.metricThrottledRequestsForOperations({ operations: [dynamodb.Operation.PUT_ITEM, dynamodb.Operation.GET_ITEM] }), threshold: 1, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))`, and one on `table.metricSystemErrorsForOperations()`.',
    'AWS::DynamoDB::GlobalTable':
      "`new cloudwatch.Alarm(this, id, { metric: table.metric('ThrottledRequests'), threshold: 1, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))` on the `dynamodb.TableV2`.",
    'AWS::ElastiCache::ReplicationGroup':
      "A `cloudwatch.Alarm` on `new cloudwatch.Metric({ namespace: 'AWS/ElastiCache', metricName: 'EngineCPUUtilization', dimensionsMap: { CacheClusterId: `${group.ref}-001` } })` (and `DatabaseMemoryUsagePercentage`), with `addAlarmAction(new cloudwatch_actions.SnsAction(topic))`.",
    'AWS::EFS::FileSystem':
      "`new cloudwatch.Alarm(this, id, { metric: fileSystem.metric('PercentIOLimit'), threshold: 90, evaluationPeriods: 3 }).addAlarmAction(new cloudwatch_actions.SnsAction(topic))` (and `BurstCreditBalance` in bursting mode).",
  },
  evaluate(model) {
    const facts = alarmFacts(model);
    const out: AssemblyEvaluation[] = [];
    for (const stack of model.stacks) {
      for (const resource of stack.resources.values()) {
        if (!DATASTORE_TYPES.includes(resource.type) || !ownsItsData(resource)) continue;
        // Cluster members' alarms count for their cluster.
        const members = [...stack.resources.values()]
          .filter(
            (r) =>
              r.type === 'AWS::RDS::DBInstance' &&
              referencedLogicalId(r.properties.DBClusterIdentifier) === resource.logicalId,
          )
          .map((r) => r.logicalId);
        out.push({
          stack,
          resource,
          result: coverageResult(covered(facts, stack, resource, members), 'datastore'),
        });
      }
    }
    return out;
  },
};

/** SNS protocols that reach a person (mail, SMS) or a pager / chat webhook. */
const HUMAN_PROTOCOLS = new Set(['email', 'email-json', 'sms', 'https', 'http', 'lambda']);

function topicPages(stack: AssemblyStack, topicId: string): string | undefined {
  const topic = stack.resources.get(topicId);
  if (!topic || topic.type !== 'AWS::SNS::Topic') return undefined;
  for (const s of list(topic.properties.Subscription)) {
    const protocol = prop(s, 'Protocol');
    if (typeof protocol === 'string' && HUMAN_PROTOCOLS.has(protocol))
      return `${protocol} subscription of ${topicId}`;
  }
  for (const r of stack.resources.values()) {
    if (r.type === 'AWS::SNS::Subscription' && referencedLogicalId(r.properties.TopicArn) === topicId) {
      const protocol = r.properties.Protocol;
      if (typeof protocol === 'string' && HUMAN_PROTOCOLS.has(protocol))
        return `${protocol} subscription of ${topicId}`;
    }
    if (
      r.type.startsWith('AWS::Chatbot::') &&
      list(r.properties.SnsTopicArns).some((a) => referencedLogicalId(a) === topicId)
    )
      return `chat channel ${r.logicalId}`;
  }
  return undefined;
}

/** How an alarm action reaches a human, or undefined. */
function actionPages(model: AssemblyModel, stack: AssemblyStack, action: JsonValue): string | undefined {
  const text = literalStrings(action).join('');
  if (/:ssm-incidents:|:response-plan\//.test(text)) return 'an Incident Manager response plan';
  for (const ref of model.references.resolve(stack, action)) {
    const pages = topicPages(ref.stack, ref.logicalId);
    if (pages) return pages;
  }
  // A topic ARN from outside the assembly (an existing on-call topic): its subscriptions cannot be
  // read here; it is counted, and the report names it so a reader can check it.
  if (typeof action === 'string' && action.startsWith('arn:') && action.includes(':sns:'))
    return `external topic ${action} (subscriptions not visible in the assembly)`;
  return undefined;
}

const alarmPagesHuman: AssemblyRule = {
  id: 'AlarmPagesHuman',
  group: 'visibility',
  severity: 'blocker',
  seed: 'Monitoring alerts configured',
  title:
    'At least one alarm pages a human (SNS topic with an e-mail, SMS, pager webhook or chat subscription)',
  why:
    'Alarms that only change colour, or notify a topic nobody subscribed to, reach no one: the first to know about ' +
    'an outage is a customer.',
  fix:
    '`const topic = new sns.Topic(this, "Page"); topic.addSubscription(new subscriptions.EmailSubscription(' +
    '"oncall@example.com"))` (or `UrlSubscription` to your pager, or an AWS Chatbot channel), then ' +
    '`alarm.addAlarmAction(new cloudwatch_actions.SnsAction(topic))`. With Shipshape: `AlarmTopics`.',
  evaluate(model) {
    let alarms = 0;
    for (const stack of model.stacks) {
      for (const alarm of stack.resources.values()) {
        if (!ALARM_TYPES.includes(alarm.type)) continue;
        alarms += 1;
        if (bool(alarm.properties.ActionsEnabled) === false) continue;
        for (const action of list(alarm.properties.AlarmActions)) {
          if (actionPages(model, stack, action)) return [{ result: OK }];
        }
      }
    }
    if (model.stacks.length === 0) return [{ result: NA }];
    return [
      {
        result: fail(
          alarms === 0
            ? 'the assembly has no alarms at all'
            : `none of the ${alarms} alarm(s) notifies a topic with a human subscriber`,
        ),
      },
    ];
  },
};

/** The assembly-wide rules, in report order. */
export const ASSEMBLY_RULES: readonly AssemblyRule[] = [alarmPagesHuman, entryPointAlarms, datastoreAlarms];
