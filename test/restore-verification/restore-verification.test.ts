import { loadEnvironmentConfig } from '../../lib/config';
import { Duration } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { stateMachineDefinition } from '../helpers/asl';
import { synthEnvironment } from '../helpers/synth';
import { buildVerification } from './fixture';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Sid?: string };

function policyStatements(template: Template, logicalIdPart: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const found = Object.entries(policies).filter(([id]) => id.includes(logicalIdPart));
  expect(found).toHaveLength(1);
  return (
    found[0][1].Properties as { PolicyDocument: { Statement: Statement[] } }
  ).PolicyDocument.Statement.filter((s) => !isXrayTracing(s));
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
/** The statement `tracing: ACTIVE` adds (X-Ray supports no resource scoping); asserted on its own. */
const isXrayTracing = (s: Statement) => actionsOf(s).every((a) => String(a).startsWith('xray:'));
const resourcesOf = (s: Statement) => JSON.stringify(s.Resource);

describe.each([
  ['staging', 'rate(5 minutes)', 900, (90 + 75) * 60],
  ['production', 'rate(1 minute)', 600, (120 + 75) * 60],
] as const)('restore verification in %s', (env, heartbeatRate, rpoSeconds, timeoutSeconds) => {
  let template: Template;
  beforeAll(() => {
    template = synthEnvironment(env).stateless;
  });

  test('the schedule from config starts the state machine', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 4 * * ? *)',
      State: 'ENABLED',
      Target: { Arn: { Ref: Match.stringLikeRegexp('^RestoreVerification[0-9A-F]{8}$') } },
    });
  });

  test(`the heartbeat writer runs at the configured interval (${heartbeatRate})`, () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: heartbeatRate,
      Target: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RestoreVerificationHeartbeat'), 'Arn'] } },
    });
  });

  test('the state machine logs everything, is traced and times out after restore timeout + margin', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      DefinitionString: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`"TimeoutSeconds":${timeoutSeconds}`)])],
      }),
    });
  });

  test('handlers run on Node.js 24 on arm64', () => {
    for (const name of ['Control', 'Verifier', 'Heartbeat']) {
      const fns = template.findResources('AWS::Lambda::Function', {
        Properties: { Runtime: 'nodejs24.x', Architectures: ['arm64'] },
      });
      expect(Object.keys(fns).some((id) => id.startsWith(`RestoreVerification${name}`))).toBe(true);
    }
  });

  test('restore and delete are allowed only on tagged instances with the throwaway prefix', () => {
    const statements = policyStatements(template, 'RestoreVerificationControlServiceRoleDefaultPolicy');
    const prefix = `:db:shipshape-${env}-rv-*`;
    const restoreTarget = statements.find((s) => s.Sid === 'RestoreIntoTaggedThrowawayOnly')!;
    expect(actionsOf(restoreTarget)).toEqual(['rds:RestoreDBInstanceToPointInTime', 'rds:AddTagsToResource']);
    expect(resourcesOf(restoreTarget)).toContain(prefix);
    expect(restoreTarget.Condition).toEqual({
      StringEquals: { 'aws:RequestTag/shipshape:purpose': 'restore-verification' },
    });
    const del = statements.find((s) => actionsOf(s).includes('rds:DeleteDBInstance'))!;
    expect(resourcesOf(del)).toContain(prefix);
    expect(del.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/shipshape:purpose': 'restore-verification' },
    });
    // Nothing else may modify an instance: every other rds action is describe-only or restore-from-source.
    const mutating = statements.filter((s) =>
      actionsOf(s).some((a) => a.startsWith('rds:') && a !== 'rds:DescribeDBInstances'),
    );
    expect(mutating.map((s) => s.Sid)).toEqual([
      'RestoreIntoTaggedThrowawayOnly',
      'RestoreFromTheSourceOnly',
      'DeleteTaggedThrowawayOnly',
    ]);
  });

  test('restore reads from the source instance, its subnet group and parameter group only', () => {
    const statements = policyStatements(template, 'RestoreVerificationControlServiceRoleDefaultPolicy');
    const fromSource = statements.find((s) => s.Sid === 'RestoreFromTheSourceOnly')!;
    expect(actionsOf(fromSource)).toEqual(['rds:RestoreDBInstanceToPointInTime']);
    const resources = resourcesOf(fromSource);
    expect(resources).toMatch(/:db:",\{"Fn::ImportValue":"[^"]*ExportsOutputRefDatabase/);
    expect(resources).toMatch(/:subgrp:",\{"Fn::ImportValue":"[^"]*DatabaseSubnetGroup/);
    expect(resources).toMatch(/:pg:",\{"Fn::ImportValue":"[^"]*DatabaseParameterGroup/);
  });

  test('every function is traced with X-Ray and may only put trace segments beyond its own grants', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^(Restore verification|Writes a heartbeat row)') },
    });
    expect(Object.keys(functions)).toHaveLength(3);
    for (const fn of Object.values(functions))
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    for (const part of ['Control', 'Verifier', 'Heartbeat']) {
      const policies = template.findResources('AWS::IAM::Policy');
      const [, policy] = Object.entries(policies).find(([id]) =>
        id.includes(`RestoreVerification${part}ServiceRoleDefaultPolicy`),
      )!;
      const xray = (policy.Properties.PolicyDocument.Statement as Statement[]).filter(isXrayTracing);
      expect(xray).toEqual([
        { Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Effect: 'Allow', Resource: '*' },
      ]);
    }
  });

  test('tags the source database as restore-verified (ProductionReadiness-RestoreTested)', () => {
    synthEnvironment(env).stateful.hasResourceProperties('AWS::RDS::DBInstance', {
      Tags: Match.arrayWith([
        {
          Key: 'shipshape:restore-verified',
          Value: Match.stringLikeRegexp('/Stateless/RestoreVerification$'),
        },
      ]),
    });
  });

  test('the verifier can connect only as restore_verifier', () => {
    const statements = policyStatements(template, 'RestoreVerificationVerifierServiceRoleDefaultPolicy');
    expect(statements).toHaveLength(1);
    expect(actionsOf(statements[0])).toEqual(['rds-db:connect']);
    expect(resourcesOf(statements[0])).toMatch(/:rds-db:eu-west-1:\d{12}:dbuser:\*\/restore_verifier"/);
  });

  test('the heartbeat writer can connect through the proxy only as shipshape_heartbeat', () => {
    const statements = policyStatements(template, 'RestoreVerificationHeartbeatServiceRoleDefaultPolicy');
    expect(statements).toHaveLength(1);
    expect(actionsOf(statements[0])).toEqual(['rds-db:connect']);
    expect(resourcesOf(statements[0])).toMatch(/dbuser:.*\/shipshape_heartbeat"/);
  });

  test('the throwaway security group admits PostgreSQL from the verifier only and sends nothing', () => {
    const ingress = template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: {
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ThrowawaySecurityGroup'), 'GroupId'] },
      },
    });
    expect(Object.values(ingress).map((r) => r.Properties)).toEqual([
      expect.objectContaining({
        FromPort: 5432,
        ToPort: 5432,
        SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/VerifierSecurityGroup/), 'GroupId'] },
      }),
    ]);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('throwaway'),
      SecurityGroupIngress: Match.absent(),
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' }),
      ],
    });
  });

  test('the start step restores into that security group and the database subnet group (Data subnets)', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SECURITY_GROUP_ID: { 'Fn::GetAtt': [Match.stringLikeRegexp('ThrowawaySecurityGroup'), 'GroupId'] },
          SUBNET_GROUP_NAME: { 'Fn::ImportValue': Match.stringLikeRegexp('DatabaseSubnetGroup') },
          INSTANCE_CLASS: 'db.t4g.micro',
          IDENTIFIER_PREFIX: `shipshape-${env}-rv-`,
        }),
      },
    });
  });

  test('the verifier runs in the isolated Data subnets behind its own security group', () => {
    const verifiers = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: Match.objectLike({ DATABASE_USER: 'restore_verifier' }) } },
    });
    const [verifier] = Object.values(verifiers);
    const vpcConfig = verifier.Properties.VpcConfig as { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
    expect(vpcConfig.SubnetIds).toEqual(
      synthEnvironment(env).stage.config.availabilityZones.map((_, i) => ({
        'Fn::ImportValue': expect.stringMatching(new RegExp(`NetworkDataSubnet${i + 1}Subnet`)),
      })),
    );
    expect(vpcConfig.SecurityGroupIds).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/VerifierSecurityGroup/), 'GroupId'] },
    ]);
  });

  test('no database secret reaches a function environment', () => {
    const fns = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) =>
      id.startsWith('RestoreVerification'),
    );
    expect(fns.length).toBeGreaterThanOrEqual(3);
    for (const [, fn] of fns) {
      expect(JSON.stringify(fn.Properties.Environment ?? {})).not.toMatch(/Secret|PASSWORD/i);
    }
  });

  test('alarms when no run succeeded within a day + restore timeout + 1 h (missing data breaches), linking the runbook', () => {
    const staleHours = Math.ceil(
      (86_400 + loadEnvironmentConfig(env).restoreVerification.timeoutMinutes * 60 + 3_600) / 3_600,
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Shipshape/RestoreVerification',
      MetricName: 'Success',
      Dimensions: [
        { Name: 'Database', Value: 'shipshape' },
        { Name: 'Environment', Value: env },
      ],
      Statistic: 'Maximum',
      Period: 3_600,
      EvaluationPeriods: staleHours,
      DatapointsToAlarm: staleHours,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmDescription: Match.stringLikeRegexp(
        'Runbook: https://github.com/example/shipshape/blob/main/runbooks/restore-verification-failed.md$',
      ),
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopicsPage') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('AlarmTopicsPage') }],
    });
  });

  test('pages within the hour when a run reports failure', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Success',
      Statistic: 'Minimum',
      Period: 3_600,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('Runbook: https://.*/restore-verification-failed.md$'),
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopicsPage') }],
    });
  });

  test(`alarms when the measured RPO exceeds the target (${rpoSeconds} s)`, () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RpoSeconds',
      Threshold: rpoSeconds,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp('Runbook: https://.*/restore-verification-failed.md$'),
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopicsPage') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('AlarmTopicsPage') }],
    });
  });

  test('a failure notification goes to the page topic', () => {
    const states = stateMachineDefinition(template, /^(?!.*Cleanup)/).States as Record<
      string,
      Record<string, unknown>
    >;
    expect(states.NotifyFailure.Resource).toBe('arn:aws:states:::sns:publish');
    expect((states.NotifyFailure.Parameters as { TopicArn: string }).TopicArn).toMatch(/AlarmTopicsPage/);
  });
});

describe('RestoreVerification validation', () => {
  const path = "RestoreVerification 'Test/RestoreVerification'";
  test.each([
    [
      { restoreTimeout: Duration.minutes(5) },
      `${path}: restoreTimeout must be between 15 minutes and 12 hours`,
    ],
    [{ pollInterval: Duration.seconds(5) }, `${path}: pollInterval must be at least 10 seconds`],
    [
      { heartbeatInterval: Duration.seconds(90) },
      `${path}: heartbeatInterval must be a whole number of minutes`,
    ],
    [
      { rpoTarget: Duration.minutes(5), heartbeatInterval: Duration.minutes(5) },
      `${path}: rpoTarget (5 minutes) must exceed heartbeatInterval (5 minutes)`,
    ],
    [
      { orphanMaxAge: Duration.hours(1) },
      `${path}: orphanMaxAge (1 hour) must exceed the state machine timeout`,
    ],
    [
      { instanceIdentifierPrefix: 'Bad_Prefix' },
      `${path}: instanceIdentifierPrefix 'Bad_Prefix' is not a valid RDS identifier prefix`,
    ],
    [{ criticalTables: [] }, `${path}: criticalTables is empty`],
    [
      { criticalTables: [{ name: 'Notes; DROP', minRows: 0 }] },
      `${path}: criticalTables: 'Notes; DROP' is not a lower-case table name`,
    ],
    [
      { criticalTables: [{ name: 'notes', minRows: -1 }] },
      `${path}: criticalTables: minRows of 'notes' must be a non-negative integer, got -1`,
    ],
    [
      {
        criticalTables: [
          { name: 'notes', minRows: 0 },
          { name: 'notes', minRows: 1 },
        ],
      },
      `${path}: criticalTables: 'notes' is listed twice`,
    ],
    [
      { runbookUrl: 'http://example.com/r.md' },
      `${path}: runbookUrl must be an https:// URL, got 'http://example.com/r.md'`,
    ],
    [
      { schedule: scheduler.ScheduleExpression.rate(Duration.days(2)) },
      `${path}: the schedule period (2 days) must be whole minutes between 1 minute and 1 day`,
    ],
  ])('fails when given %o', (overrides, message) => {
    expect(() => buildVerification(overrides)).toThrow(message);
  });

  test('an hourly rate schedule sets the alarm period to one hour', () => {
    const { verification } = buildVerification({
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
    });
    expect(verification.metricSuccess().period.toSeconds()).toBe(3600);
    expect(verification.failedAlarm.node.defaultChild).toBeDefined();
  });
});
