import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Duration, Lazy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { type EnvironmentConfig, loadEnvironmentConfig } from '../../lib/config';
import type { BackgroundJobsOptions } from '../../lib/jobs/background-jobs';
import { type PolicyFinding, readFindings } from '../helpers/synth';
import { JOBS_METRIC_NAMESPACE as LAMBDA_NAMESPACE, JobMetric } from '../../lambda/shared/job-metrics';
import { jobsStack } from './jobs-stack';

const RUNBOOKS_DIR = join(__dirname, '..', '..', 'runbooks');

type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }
>;

describe.each(['staging', 'production'] as const)('background jobs in %s', (env) => {
  let config: EnvironmentConfig;
  let template: Template;
  let findings: PolicyFinding[];

  beforeAll(() => {
    config = loadEnvironmentConfig(env);
    const { stack } = jobsStack(config, { nag: true });
    const app = stack.node.root as App;
    try {
      app.synth();
    } catch (e) {
      if (!existsSync(join(app.outdir, 'validation-report.json'))) throw e;
    }
    findings = readFindings(app.outdir);
    template = Template.fromJSON(app.synth().getStackByName(stack.stackName).template);
  });

  test('keeps the queue, its dead-letter queue and their key under stable logical ids, retained on delete', () => {
    for (const [logicalId, type] of [
      ['Jobs41CEEC0B', 'AWS::SQS::Queue'],
      ['JobsDeadLetterQueue8CC426EE', 'AWS::SQS::Queue'],
      ['JobsKeyB64EAF8C', 'AWS::KMS::Key'],
    ]) {
      const resources = template.findResources(type) as Resources;
      expect(resources[logicalId]).toBeDefined();
      expect(resources[logicalId].DeletionPolicy).toBe('Retain');
    }
  });

  test('encrypts both queues with one customer-managed key that rotates', () => {
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.allResourcesProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': ['JobsKeyB64EAF8C', 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('refuses any request to either queue that is not TLS', () => {
    for (const queue of ['Jobs41CEEC0B', 'JobsDeadLetterQueue8CC426EE']) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  test('redrives to the dead-letter queue after the configured number of deliveries', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': ['JobsDeadLetterQueue8CC426EE', 'Arn'] },
        maxReceiveCount: config.jobs.maxReceiveCount,
      },
    });
  });

  test('keeps dead letters for 14 days, the time an operator has to redrive them', () => {
    const dlq = (template.findResources('AWS::SQS::Queue') as Resources).JobsDeadLetterQueue8CC426EE;
    expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(dlq.Properties.RedrivePolicy).toBeUndefined();
  });

  test('hides a received message for six times the worker timeout', () => {
    const worker = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('Processes background jobs') },
      }) as Resources,
    )[0];
    const queue = (template.findResources('AWS::SQS::Queue') as Resources).Jobs41CEEC0B;
    expect(queue.Properties.VisibilityTimeout).toBe(6 * (worker.Properties.Timeout as number));
  });

  test('feeds the worker in batches with partial failure reporting and the configured concurrency cap', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': ['Jobs41CEEC0B', 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: config.jobs.maxConcurrency },
    });
  });

  test('runs the worker and the relay on Node.js 24, arm64, inside the VPC', () => {
    for (const description of ['Processes background jobs', 'Moves committed outbox rows']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(description),
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      });
    }
  });

  test('tells the worker its queue, attempts and backoff, and the database user, with no secret in its environment', () => {
    const worker = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('Processes background jobs') },
      }) as Resources,
    )[0];
    const variables = (worker.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({
      QUEUE_URL: { Ref: 'Jobs41CEEC0B' },
      MAX_RECEIVE_COUNT: String(config.jobs.maxReceiveCount),
      BACKOFF_BASE_SECONDS: '10',
      BACKOFF_MAX_SECONDS: '300',
      DB_USER: 'shipshape_jobs_worker',
      DB_NAME: 'shipshape',
      DB_PORT: '5432',
    });
    expect(Object.keys(variables).filter((k) => /PASSWORD|SECRET|TOKEN/i.test(k))).toEqual([]);
  });

  test('lets the worker and the relay sign in to the proxy each as its own user (and app for the transition) with IAM, and reach it on 5432', () => {
    const usersOf = (policyPrefix: string) => {
      const policy = Object.entries(template.findResources('AWS::IAM::Policy') as Resources).find(([id]) =>
        id.startsWith(policyPrefix),
      )![1];
      const document = policy.Properties.PolicyDocument as {
        Statement: Array<{ Action: unknown; Resource: unknown }>;
      };
      return document.Statement.filter((s) => s.Action === 'rds-db:connect')
        .map((s) => /\/([a-z_]+)"\]\]\}$/.exec(JSON.stringify(s.Resource))?.[1])
        .sort();
    };
    expect(usersOf('JobsWorkerServiceRoleDefaultPolicy')).toEqual(['app', 'shipshape_jobs_worker']);
    expect(usersOf('JobsOutboxRelayServiceRoleDefaultPolicy')).toEqual(['app', 'shipshape_outbox_relay']);
    const relay = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('Moves committed outbox rows') },
      }) as Resources,
    )[0];
    expect((relay.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      DB_USER: 'shipshape_outbox_relay',
      PARK_AFTER_REFUSALS: '5',
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432,
      ToPort: 5432,
      SourceSecurityGroupId: { 'Fn::GetAtt': ['JobsSecurityGroupE0D954B1', 'GroupId'] },
    });
  });

  test('alarms on parked outbox rows', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Shipshape/Jobs',
      MetricName: 'OutboxParked',
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmDescription: Match.stringLikeRegexp('runbooks/outbox-parked.md$'),
    });
  });

  test('lets the functions out only to HTTPS and to the database proxy', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Background jobs worker and outbox relay'),
      SecurityGroupEgress: [
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() },
      ],
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': ['JobsSecurityGroupE0D954B1', 'GroupId'] },
      FromPort: 5432,
      ToPort: 5432,
    });
  });

  test('lets only the relay send to the queue', () => {
    const senders = template.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['sqs:SendMessage']) })]),
        },
      },
    });
    expect(Object.keys(senders)).toEqual(['JobsOutboxRelayServiceRoleDefaultPolicyC81CA620']);
  });

  test('runs the outbox relay every minute through EventBridge Scheduler, without stale retries', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': ['JobsOutboxRelay28840A29', 'Arn'] },
        RoleArn: { 'Fn::GetAtt': ['JobsRelayScheduleRoleFE73598C', 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      },
    });
  });

  test('alarms as soon as a message reaches the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': ['JobsDeadLetterQueue8CC426EE', 'QueueName'] } },
      ],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
  });

  test('alarms when the oldest message is older than the configured age', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['Jobs41CEEC0B', 'QueueName'] } }],
      Threshold: config.jobs.maxMessageAgeMinutes * 60,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('alarms on failed worker invocations', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'JobsWorker39987898' } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test('alarms when the outbox stays undrained, and when the relay stops reporting', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Shipshape/Jobs',
      MetricName: 'OutboxBacklog',
      Dimensions: [{ Name: 'service', Value: 'Jobs-Jobs' }],
      Statistic: 'Minimum',
      Threshold: 0,
      EvaluationPeriods: 3,
      TreatMissingData: 'breaching',
    });
  });

  test('every alarm notifies the topic and ends with a link to a runbook that exists', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources);
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) {
      const description = alarm.Properties.AlarmDescription as string;
      const link = new RegExp(`Runbook: ${config.observability.runbookBaseUrl}/([a-z0-9-]+\\.md)$`).exec(
        description,
      );
      expect(link).not.toBeNull();
      expect(existsSync(join(RUNBOOKS_DIR, link![1]))).toBe(true);
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Alarms/) }]);
    }
  });

  test('has no unacknowledged cdk-nag finding', () => {
    expect(findings.map((f) => `${f.rule} ${f.path}`)).toEqual([]);
  });
});

describe('BackgroundJobs metrics', () => {
  test('read the namespace, names and service dimension the relay and worker publish', () => {
    const { jobs } = jobsStack(loadEnvironmentConfig('staging'));
    const published = [
      [jobs.metricOutboxBacklog(), JobMetric.OUTBOX_BACKLOG],
      [jobs.metricOutboxOldestAge(), JobMetric.OUTBOX_OLDEST_AGE],
      [jobs.metricPoisonJobs(), JobMetric.JOBS_POISON],
      [jobs.metricProcessedJobs(), JobMetric.JOBS_PROCESSED],
    ] as const;
    for (const [metric, name] of published) {
      expect(metric.namespace).toBe(LAMBDA_NAMESPACE);
      expect(metric.metricName).toBe(name);
      expect(metric.dimensions).toEqual({ service: jobs.metricsServiceName });
    }
    // The functions name the service dimension through POWERTOOLS_SERVICE_NAME.
    const template = Template.fromStack(jobs.worker.stack);
    for (const fn of [jobs.worker, jobs.relay]) {
      const logicalId = jobs.worker.stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
      const resource = template.toJSON().Resources[logicalId];
      expect(resource.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe(jobs.metricsServiceName);
    }
  });
});

describe('BackgroundJobs validation', () => {
  const config = loadEnvironmentConfig('staging');
  const build = (overrides: BackgroundJobsOptions) => () => jobsStack(config, { overrides });

  test('fails when the visibility timeout is under six times the worker timeout', () => {
    expect(
      build({ worker: { timeout: Duration.seconds(60) }, visibilityTimeout: Duration.seconds(300) }),
    ).toThrow(
      "BackgroundJobs 'Jobs/Jobs': visibilityTimeout (300s) must be at least 6 times the worker timeout (60s), or a batch can be delivered again while it is still being processed; set visibilityTimeout to at least 360s or shorten worker.timeout",
    );
  });

  test('fails when the visibility timeout exceeds the SQS limit of 12 hours', () => {
    expect(
      build({ worker: { timeout: Duration.minutes(15) }, visibilityTimeout: Duration.hours(13) }),
    ).toThrow(/visibilityTimeout \(46800s\) must be at most 12 hours/);
  });

  test('fails when maxReceiveCount is out of range', () => {
    expect(build({ maxReceiveCount: 0 })).toThrow(
      "BackgroundJobs 'Jobs/Jobs': maxReceiveCount must be an integer from 1 to 1000, got 0",
    );
  });

  test('fails when the worker concurrency is outside the SQS event source limits', () => {
    expect(build({ worker: { maxConcurrency: 1 } })).toThrow(
      "BackgroundJobs 'Jobs/Jobs': worker.maxConcurrency must be an integer from 2 to 1000 (SQS event source limits), got 1",
    );
  });

  test('fails when the batch size is out of range', () => {
    expect(build({ worker: { batchSize: 0 } })).toThrow(
      /worker\.batchSize must be an integer from 1 to 10000, got 0/,
    );
  });

  test('fails when the backoff base exceeds its maximum', () => {
    expect(build({ backoff: { base: Duration.minutes(2), max: Duration.minutes(1) } })).toThrow(
      /backoff\.base \(120s\) must be at least 1 second and at most backoff\.max \(60s\)/,
    );
  });

  test('fails when an ordinary retry would raise the oldest-message alarm', () => {
    expect(build({ backoff: { max: Duration.minutes(20) }, maxMessageAge: Duration.minutes(15) })).toThrow(
      /maxMessageAge \(900s\) must exceed backoff\.max \(1200s\)/,
    );
  });

  test('fails when a failing job could expire before reaching the dead-letter queue', () => {
    expect(build({ retentionPeriod: Duration.minutes(30) })).toThrow(
      /retentionPeriod \(1800s\) must exceed maxReceiveCount x \(backoff\.max \+ visibilityTimeout\) = 2400s/,
    );
  });

  test('fails when the dead-letter retention is beyond the SQS limit', () => {
    expect(build({ deadLetterRetentionPeriod: Duration.days(15) })).toThrow(
      /deadLetterRetentionPeriod must be between 1 minute and 14 days/,
    );
  });

  test('fails when processed-job history would be pruned before every redelivery window closes', () => {
    expect(build({ historyRetention: Duration.days(10) })).toThrow(
      /historyRetention \(10 days\) must exceed retentionPeriod \+ deadLetterRetentionPeriod \(18 days\)/,
    );
  });

  test.each([0, 2.5, 1001])('fails when parkAfterRefusals is %s', (value) => {
    expect(build({ parkAfterRefusals: value })).toThrow(
      new RegExp(`parkAfterRefusals must be an integer from 1 to 1000, got ${value}`),
    );
  });

  test('skips the checks for values only known at deploy time', () => {
    // 0 would fail the check if it were known at synth time.
    const late = Lazy.number({ produce: () => 0 });
    expect(() => jobsStack(config, { overrides: { maxReceiveCount: late } })).not.toThrow();
  });

  test('grantEnqueue lets a producer send (and encrypt) messages', () => {
    const { stack, jobs } = jobsStack(config);
    const producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.AccountRootPrincipal() });
    jobs.grantEnqueue(producer);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Producer') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Resource: { 'Fn::GetAtt': ['Jobs41CEEC0B', 'Arn'] },
          }),
          Match.objectLike({ Action: Match.arrayWith(['kms:GenerateDataKey*']) }),
        ]),
      },
    });
  });
});
