import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { type EnvironmentName, loadEnvironmentConfig } from '../../lib/config';
import { AlarmTopics } from '../../lib/observability/alarm-topics';
import { instanceClassMemory, Observability } from '../../lib/observability/observability';
import { SRE_WORKBOOK_WINDOWS } from '../../lib/observability/burn-rate-slo';
import { ShipshapeStage, stageId } from '../../lib/stages/shipshape-stage';
import { type EdgeEnvironment, synthEdgeEnvironment } from '../edge/edge-fixture';
import { newTestApp } from '../helpers/synth';

const RUNBOOKS = join(__dirname, '../../runbooks');
type Resource = { Type: string; Properties: Record<string, unknown> };

interface Synthesized {
  readonly e: EdgeEnvironment;
  readonly edgeAlarms: Template;
  /** Every template of the stage: Stateless, the WAF stack, the edge alarms stack. */
  readonly templates: Record<string, Template>;
}

function synth(env: EnvironmentName): Synthesized {
  const e = synthEdgeEnvironment(env);
  const edgeAlarms = Template.fromStack(e.stage.stateless.observability.edgeAlarmsStack!);
  return { e, edgeAlarms, templates: { Stateless: e.stateless, Waf: e.firewall, EdgeAlarms: edgeAlarms } };
}

/** Logical ids of alarms named in a composite alarm's rule (`ALARM("name")` → Fn::GetAtt Arn). */
function compositeInputs(template: Template): Set<string> {
  const ids = new Set<string>();
  for (const c of Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm'))) {
    const rule = JSON.stringify((c as Resource).Properties.AlarmRule);
    for (const m of rule.matchAll(/"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/g)) ids.add(m[1]);
  }
  return ids;
}

function runbookOf(description: unknown): string | undefined {
  const text = typeof description === 'string' ? description : JSON.stringify(description);
  return /Runbook: (\S+?)"?$/.exec(text)?.[1];
}

const linked = new Set<string>();

describe.each(['staging', 'production'] as const)('observability in %s', (env) => {
  let s: Synthesized;
  const config = loadEnvironmentConfig(env);
  const base = config.observability.runbookBaseUrl;
  beforeAll(() => {
    s = synth(env);
  });

  test('every alarm (metric and composite) in every stack of the stage has an alarm action and an OK action, composite inputs exempt', () => {
    let checked = 0;
    for (const [name, template] of Object.entries(s.templates)) {
      const inputs = compositeInputs(template);
      const alarms = {
        ...template.findResources('AWS::CloudWatch::Alarm'),
        ...template.findResources('AWS::CloudWatch::CompositeAlarm'),
      };
      for (const [id, alarm] of Object.entries(alarms)) {
        if (inputs.has(id)) continue;
        const p = (alarm as Resource).Properties;
        expect([name, id, (p.AlarmActions as unknown[] | undefined)?.length ?? 0]).not.toContain(0);
        expect([name, id, (p.OKActions as unknown[] | undefined)?.length ?? 0]).not.toContain(0);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  test('every alarm description ends with "Runbook: <runbookBaseUrl>/<file>.md" and the file exists', () => {
    for (const template of Object.values(s.templates)) {
      const alarms = {
        ...template.findResources('AWS::CloudWatch::Alarm'),
        ...template.findResources('AWS::CloudWatch::CompositeAlarm'),
      };
      for (const [id, alarm] of Object.entries(alarms)) {
        const url = runbookOf((alarm as Resource).Properties.AlarmDescription);
        expect([id, url?.startsWith(`${base}/`) && url.endsWith('.md')]).toEqual([id, true]);
        const file = url!.slice(base.length + 1);
        expect([id, existsSync(join(RUNBOOKS, file))]).toEqual([id, true]);
        linked.add(file);
      }
    }
  });

  test('the secret-rotation rule pages with a message naming the secret and the runbook', () => {
    s.e.stateless.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        'detail-type': ['AWS Service Event via CloudTrail'],
        detail: { eventName: ['RotationFailed', 'RotationAbandoned'] },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('AlarmTopicsPage') },
          InputTransformer: Match.objectLike({
            InputPathsMap: Match.objectLike({
              'detail-additionalEventData-SecretId': '$.detail.additionalEventData.SecretId',
            }),
            InputTemplate: Match.stringLikeRegexp(`Runbook: ${base}/secret-rotation.md`),
          }),
        }),
      ],
    });
    linked.add('secret-rotation.md');
  });

  test('availability SLO thresholds are burn rate x (1 - target), one metric alarm per window', () => {
    const budget = (100 - config.slo.availabilityTargetPercent) / 100;
    for (const w of SRE_WORKBOOK_WINDOWS) {
      for (const which of ['Long', 'Short']) {
        s.e.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: `Shipshape-${env}-Api-Availability-${w.name}${which}`,
          Threshold: w.burnRate * budget,
        });
      }
    }
  });

  test('latency SLO counts requests slower than the configured threshold', () => {
    const budget = (100 - config.slo.latencyTargetPercent) / 100;
    s.e.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `Shipshape-${env}-Api-Latency-FastBurnShort`,
      Threshold: 14.4 * budget,
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({ Stat: `PR(:${config.slo.latencyThresholdMs})` }),
        }),
      ]),
    });
  });

  test('the SLO measures the HTTP API by ApiId alone (the stage is $default)', () => {
    const alarm = Object.values(
      s.e.stateless.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: `Shipshape-${env}-Api-Availability-FastBurnShort` },
      }),
    )[0] as Resource;
    const stats = (
      alarm.Properties.Metrics as Array<{ MetricStat?: { Metric: { Dimensions: Array<{ Name: string }> } } }>
    )
      .filter((m) => m.MetricStat)
      .map((m) => m.MetricStat!.Metric.Dimensions.map((d) => d.Name));
    expect(stats).toEqual([['ApiId'], ['ApiId']]);
  });

  test('the deployment group rolls back on the availability fast-burn short window with 6+ errors in it', () => {
    const obs = s.e.stage.stateless.observability;
    expect(obs.deploymentRollbackAlarms).toEqual([obs.availabilitySlo!.fastBurnShortWindowAlarm]);
    expect(obs.availabilitySlo!.fastBurnShortWindowAlarm.node.id).toBe('FastBurnShortEvidence');
  });

  test('monthly budget from config alerts the ticket topic', () => {
    s.e.stateless.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: Match.objectLike({
        BudgetName: `shipshape-${env}-monthly`,
        BudgetLimit: { Amount: config.observability.monthlyBudgetUsd, Unit: 'USD' },
      }),
    });
  });

  test('one dashboard named Shipshape-<env> in the stateless stack', () => {
    s.e.stateless.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    s.e.stateless.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `Shipshape-${env}` });
    const body = JSON.stringify(s.e.stateless.findResources('AWS::CloudWatch::Dashboard'));
    for (const text of [
      'SLO attainment',
      'RestoreVerification',
      'DrillSucceeded',
      'DatabaseConnectionsBorrowLatency',
      'AWS/ElastiCache',
    ]) {
      expect(body).toContain(text);
    }
  });

  test('drill alarm: no DrillSucceeded=1 in the configured 7 daily datapoints, missing data breaching', () => {
    s.e.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `Shipshape-${env}-RollbackDrillStale`,
      Namespace: 'Shipshape/Deployments',
      MetricName: 'DrillSucceeded',
      Dimensions: [{ Name: 'Environment', Value: env }],
      Statistic: 'Maximum',
      Period: 86_400,
      EvaluationPeriods: 7,
      DatapointsToAlarm: 7,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmDescription: Match.stringLikeRegexp(`^No successful rollback drill in ${env} for 7 days: `),
    });
  });

  test('heartbeat alarm fires when no heartbeat is written, missing data breaching', () => {
    const minutes = Math.max(5, 3 * config.restoreVerification.heartbeatIntervalMinutes);
    s.e.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `Shipshape-${env}-HeartbeatMissing`,
      TreatMissingData: 'breaching',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ MetricStat: Match.objectLike({ Period: minutes * 60 }) }),
      ]),
    });
  });

  test('RDS Proxy pinned sessions and borrow latency are alarmed', () => {
    for (const metricName of [
      'DatabaseConnectionsCurrentlySessionPinned',
      'DatabaseConnectionsBorrowLatency',
      'DatabaseConnections',
    ]) {
      s.e.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metricName,
        Dimensions: [{ Name: 'ProxyName', Value: Match.anyValue() }],
      });
    }
  });

  test('cache replication lag is alarmed only where there are replicas', () => {
    const found = s.e.stateless.findResources('AWS::CloudWatch::Alarm', {
      Properties: { AlarmName: `Shipshape-${env}-CacheReplicationLag` },
    });
    expect(Object.keys(found)).toHaveLength(config.cache.replicas > 0 ? 1 : 0);
  });

  test('CloudFront and WAF alarms live in a us-east-1 stack with its own KMS-encrypted topics', () => {
    const stack = s.e.stage.stateless.observability.edgeAlarmsStack!;
    expect(stack.region).toBe('us-east-1');
    expect(stack.dependencies).toContain(s.e.stage.stateless);
    s.edgeAlarms.resourceCountIs('AWS::SNS::Topic', 2);
    s.edgeAlarms.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    s.edgeAlarms.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `Shipshape-${env}-CloudFront-Fault-Rate-Critical`,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopicsPage') }],
    });
    expect(JSON.stringify(s.edgeAlarms.findResources('AWS::CloudWatch::Alarm'))).toContain(
      '"MetricName":"5xxErrorRate"',
    );
    s.edgeAlarms.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/CloudFront',
      MetricName: 'OriginLatency',
    });
    const edgeAlarmsJson = JSON.stringify(s.edgeAlarms.findResources('AWS::CloudWatch::Alarm'));
    expect(edgeAlarmsJson).toContain('"MetricName":"BlockedRequests"');
    expect(edgeAlarmsJson).toContain(
      `{"Name":"WebACL","Value":"${s.e.stage.stateless.edge!.firewall.webAclName}"}`,
    );
    expect(JSON.stringify(s.e.stateless.findResources('AWS::CloudWatch::Alarm'))).not.toContain(
      'AWS/CloudFront',
    );
  });

  test('every application function is alarmed on errors, throttles, duration and concurrency', () => {
    for (const fn of [
      'Api',
      'HeartbeatWriter',
      'RestoreVerificationControl',
      'RestoreVerificationVerifier',
      'OriginVerifyRotation',
    ]) {
      for (const kind of ['Fault-Count', 'Throttled-Count', 'Latency-Maximum', 'Running-Tasks-High']) {
        s.e.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: Match.stringLikeRegexp(`^Shipshape-${env}-${fn}-${kind}-(Warning|Critical)$`),
        });
      }
    }
    // The API function's errors page.
    s.e.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `Shipshape-${env}-Api-Fault-Count-Critical`,
    });
  });

  test('one failure, one ticket: the jobs worker has no second errors alarm, the relay has one', () => {
    const names = Object.values(s.e.stateless.findResources('AWS::CloudWatch::Alarm')).map((a) =>
      String((a as { Properties: { AlarmName?: string } }).Properties.AlarmName ?? ''),
    );
    expect(names.filter((n) => /JobsWorker.*Fault/.test(n))).toEqual([]);
    expect(names.filter((n) => /OutboxRelay.*Fault/.test(n))).toHaveLength(1);
    expect(names.filter((n) => /JobsWorker.*Throttle/.test(n))).toHaveLength(1);
  });
});

describe('runbooks', () => {
  beforeAll(() => {
    for (const env of ['staging', 'production'] as const) {
      const s = synth(env);
      for (const template of Object.values(s.templates)) {
        for (const a of Object.values({
          ...template.findResources('AWS::CloudWatch::Alarm'),
          ...template.findResources('AWS::CloudWatch::CompositeAlarm'),
        })) {
          const url = runbookOf((a as Resource).Properties.AlarmDescription);
          if (url) linked.add(url.split('/').pop()!);
        }
      }
      linked.add('secret-rotation.md');
    }
  });

  test('every runbook is linked by an alarm or listed as a procedure in runbooks/README.md', () => {
    const readme = readFileSync(join(RUNBOOKS, 'README.md'), 'utf8');
    const procedures = readme.slice(readme.indexOf('## Procedures'));
    const orphans = readdirSync(RUNBOOKS)
      .filter((f) => f.endsWith('.md') && f !== 'README.md')
      .filter((f) => !linked.has(f) && !procedures.includes(`](${f})`));
    expect(orphans).toEqual([]);
  });

  test('runbooks/README.md indexes every runbook', () => {
    const readme = readFileSync(join(RUNBOOKS, 'README.md'), 'utf8');
    const missing = readdirSync(RUNBOOKS).filter(
      (f) => f.endsWith('.md') && f !== 'README.md' && !readme.includes(`](${f})`),
    );
    expect(missing).toEqual([]);
  });

  test('every runbook has the STYLE.md sections in order', () => {
    const sections = [
      'Trigger',
      'Impact',
      'Diagnosis',
      'Mitigation',
      'Verification',
      'Escalation',
      'Related',
    ];
    for (const f of readdirSync(RUNBOOKS).filter((n) => linked.has(n))) {
      const text = readFileSync(join(RUNBOOKS, f), 'utf8');
      const found = [...text.matchAll(/^## (\w+)/gm)].map((m) => m[1]).filter((h) => sections.includes(h));
      expect([f, found]).toEqual([f, sections]);
    }
  });

  test('markdownlint-cli2 passes on runbooks/', () => {
    const bin = join(__dirname, '../../node_modules/.bin/markdownlint-cli2');
    expect(() =>
      execFileSync(bin, ['runbooks/**/*.md'], { cwd: join(__dirname, '../..'), stdio: 'pipe' }),
    ).not.toThrow();
  });
});

describe('Observability validation', () => {
  function build(overrides: Record<string, unknown>) {
    const app = newTestApp();
    const config = loadEnvironmentConfig('staging');
    const stage = new ShipshapeStage(app, stageId(config), { config });
    const stack = new Stack(stage, 'Extra', { env: { account: config.account, region: config.region } });
    return new Observability(stack, 'Obs', {
      environmentName: 'staging',
      topics: new AlarmTopics(stack, 'Topics', { pageEmail: 'a@example.com' }),
      alarmEmail: 'a@example.com',
      runbookBaseUrl: 'https://example.com/runbooks',
      monthlyBudgetUsd: 10,
      slos: {
        availabilityTargetPercent: 99.9,
        latencyTargetPercent: 99,
        latencyThreshold: Duration.millis(500),
      },
      database: stage.stateful.database,
      databaseAllocatedStorage: Size.gibibytes(20),
      databaseMemory: Size.gibibytes(1),
      proxyMaxConnectionsPercent: 90,
      cache: stage.stateful.cache,
      ...overrides,
    });
  }

  test('fails when runbookBaseUrl is not https or ends with a slash', () => {
    expect(() => build({ runbookBaseUrl: 'http://example.com/runbooks' })).toThrow(
      /Extra\/Obs.*runbookBaseUrl.*http:\/\/example.com/,
    );
    expect(() => build({ runbookBaseUrl: 'https://example.com/runbooks/' })).toThrow(
      /without a trailing slash/,
    );
  });

  test('fails when rollbackDrillMaxAge is under a day', () => {
    expect(() => build({ rollbackDrillMaxAge: Duration.hours(12) })).toThrow(
      /rollbackDrillMaxAge must be at least 1 day .*got 12 hours/,
    );
  });

  test('fails when proxyMaxConnectionsPercent is out of range', () => {
    expect(() => build({ proxyMaxConnectionsPercent: 0 })).toThrow(/proxyMaxConnectionsPercent.*got 0/);
  });

  test('fails when maxConcurrentExecutions is not a positive integer', () => {
    expect(() => build({ maxConcurrentExecutions: 0.5 })).toThrow(
      /maxConcurrentExecutions must be a positive integer, got 0.5/,
    );
  });

  test('a drill age of 3 days evaluates 3 daily datapoints without clamping', () => {
    const obs = build({ rollbackDrillMaxAge: Duration.days(3) });
    const t = Template.fromStack(Stack.of(obs));
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Shipshape-staging-RollbackDrillStale',
      EvaluationPeriods: 3,
      AlarmDescription: Match.not(Match.stringLikeRegexp('clamped')),
    });
  });

  test('the Slack channel is optional and subscribes both topics when given', () => {
    const obs = build({ slackChannel: { slackWorkspaceId: 'T0123', slackChannelId: 'C0123' } });
    const t = Template.fromStack(Stack.of(obs));
    t.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123',
      SlackChannelId: 'C0123',
      SnsTopicArns: Match.arrayWith([
        { Ref: Match.stringLikeRegexp('TopicsPage') },
        { Ref: Match.stringLikeRegexp('TopicsTicket') },
      ]),
    });
    const without = build({});
    Template.fromStack(Stack.of(without)).resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
  });

  test('fails when addEdge is called twice', () => {
    const e = synthEdgeEnvironment('staging');
    expect(() => e.stage.stateless.observability.addEdge(e.stage.stateless.edge!)).toThrow(
      /addEdge was already called/,
    );
  });

  test('instance class memory estimates max_connections and rejects unknown classes', () => {
    expect(instanceClassMemory('t4g.micro').toGibibytes()).toBe(1);
    expect(instanceClassMemory('t4g.medium').toGibibytes()).toBe(4);
    expect(instanceClassMemory('m7g.2xlarge').toGibibytes()).toBe(32);
    expect(instanceClassMemory('r7g.large').toGibibytes()).toBe(16);
    expect(() => instanceClassMemory('x9.huge')).toThrow(/Unknown RDS instance class 'x9.huge'/);
  });
});
