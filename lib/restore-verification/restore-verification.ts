import { ArnFormat, Duration, RemovalPolicy, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { guardRuleId, RESTORE_VERIFIED_MARKER } from '../policy/readiness-rules';
import {
  IDENTIFIER_PREFIX_PATTERN,
  RESTORE_METRICS_NAMESPACE,
  RESTORE_PURPOSE,
  RESTORE_TAGS,
} from '../../lambda/shared/restore-verification';
import { handlerCode } from '../util/handler-code';

/** A table that must exist in the restored database with at least `minRows` rows. */
export interface CriticalTable {
  /** Table name in schema `public`, lower case. */
  readonly name: string;
  /** Fewest rows the restored table may hold. */
  readonly minRows: number;
}

/** Reusable knobs of {@link RestoreVerification}. */
export interface RestoreVerificationOptions {
  /**
   * When the verification runs.
   * @default ScheduleExpression.expression('cron(0 4 * * ? *)') - daily at 04:00 UTC
   */
  readonly schedule?: scheduler.ScheduleExpression;

  /**
   * How often the schedule fires: the period of the "did not run" alarm. Set it when `schedule`
   * is a `cron()` that does not fire daily.
   * @default - the rate of a `rate()` schedule; one day for a `cron()` schedule
   */
  readonly schedulePeriod?: Duration;

  /**
   * Give up waiting for the restored instance to become available after this long.
   * @default Duration.minutes(90)
   */
  readonly restoreTimeout?: Duration;

  /**
   * Pause between two status checks of the restoring instance.
   * @default Duration.minutes(1)
   */
  readonly pollInterval?: Duration;

  /**
   * Tables that must exist in the restore with at least their minimum rows.
   * @default - `heartbeat` with at least one row
   */
  readonly criticalTables?: CriticalTable[];

  /**
   * Alarm when the measured recovery point is older than this.
   * @default Duration.minutes(15)
   */
  readonly rpoTarget?: Duration;

  /**
   * How often the heartbeat writer inserts a row: the resolution of the measured RPO.
   * @default Duration.minutes(5)
   */
  readonly heartbeatInterval?: Duration;

  /**
   * Class of the throwaway instance. The smallest Graviton burstable class restores every
   * current PostgreSQL version on gp3 storage; verification reads little.
   * @default ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * Throwaway instances (tagged by this construct) older than this are deleted by the janitor
   * step of the next run. Must exceed the state machine's timeout so a live run is never touched.
   * @default - the state machine timeout plus one hour
   */
  readonly orphanMaxAge?: Duration;

  /**
   * Identifier prefix of the throwaway instances; IAM only lets the job restore and delete
   * instances whose identifier starts with it.
   * @default 'shipshape-rv-'
   */
  readonly instanceIdentifierPrefix?: string;

  /**
   * Database user the verifier connects as (read-only).
   * @default 'restore_verifier'
   */
  readonly verifierUser?: string;

  /**
   * Database user the heartbeat writer connects as.
   * @default 'app'
   */
  readonly heartbeatUser?: string;

  /**
   * Value of the `Environment` dimension of the metrics.
   * @default - the name of the stack
   */
  readonly environmentName?: string;

  /**
   * Where failures are notified and the alarms send their ALARM and OK actions.
   * @default - no notification, alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * How long the functions' and the state machine's logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Props of {@link RestoreVerification}. */
export interface RestoreVerificationProps extends RestoreVerificationOptions {
  /** The instance whose point-in-time backups are verified. */
  readonly instance: rds.IDatabaseInstance;

  /** The RDS Proxy in front of `instance`: the source migration history and heartbeats go through it. */
  readonly proxy: rds.IDatabaseProxy & ec2.IConnectable;

  /** Name of the database inside the instance. */
  readonly databaseName: string;

  /** VPC of the source instance. */
  readonly vpc: ec2.IVpc;

  /** Isolated subnets for the throwaway instance, the verifier and the heartbeat writer. */
  readonly vpcSubnets: ec2.SubnetSelection;

  /** Full URL of the runbook the alarms link to. */
  readonly runbookUrl: string;

  /**
   * Subnet group of the throwaway instance.
   * @default - a new subnet group over `vpcSubnets`
   */
  readonly subnetGroup?: rds.ISubnetGroup;

  /**
   * Parameter group of the throwaway instance (use the source's to keep its settings).
   * @default - the engine's default parameter group
   */
  readonly parameterGroup?: rds.IParameterGroup;

  /**
   * Customer managed key encrypting the source's storage; the restore needs a grant on it.
   * @default - the source is encrypted with the AWS managed key
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Port the database listens on.
   * @default 5432
   */
  readonly port?: number;
}

const DEFAULT_CRITICAL_TABLES: CriticalTable[] = [{ name: 'heartbeat', minRows: 1 }];
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Time for everything around the wait loop: janitor, verify, delete retries, report. */
const STATE_MACHINE_MARGIN = Duration.minutes(75);
const DELETE_RETRY_INTERVAL = Duration.minutes(1);
const DELETE_RETRY_ATTEMPTS = 45;

/**
 * Proves every day that the database's point-in-time backups restore, and measures RPO and RTO.
 *
 * An EventBridge Scheduler schedule starts a Step Functions state machine that deletes orphans
 * of earlier runs, restores the source at its latest restorable time into a throwaway instance
 * (isolated subnets, own security group reachable only from the verifier, IAM authentication),
 * waits for it, verifies schema version, critical tables and the newest heartbeat as
 * `restore_verifier`, and always deletes the instance, on every failure path too. It publishes
 * `Success`, `RtoSeconds` and `RpoSeconds` to `Shipshape/RestoreVerification`, notifies failures,
 * and alarms when a run failed, did not run, or measured an RPO above target. A scheduled
 * heartbeat writer gives the RPO a real data point.
 *
 * Works on any `rds.IDatabaseInstance` with automated backups and IAM database authentication,
 * behind an RDS Proxy with `iamAuth`. The database must hold: a login role `verifierUser`
 * (granted `rds_iam`) that may read `public.shipshape_migrations` and every critical table; a
 * table `public.heartbeat (recorded_at timestamptz DEFAULT now(), source text)` that the
 * `heartbeatUser` role (granted `rds_iam`) may insert into. See docs/packaging.md.
 */
export class RestoreVerification extends Construct {
  /** The orchestrating state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** The daily (by default) schedule starting the state machine. */
  public readonly schedule: scheduler.Schedule;
  /** RDS control-plane steps: janitor, start restore, describe, delete, report. */
  public readonly controlFunction: lambda.Function;
  /** Connects to the restored instance as `restore_verifier` and checks it. */
  public readonly verifierFunction: lambda.Function;
  /** Inserts a heartbeat row on a schedule. */
  public readonly heartbeatFunction: lambda.Function;
  /** Security group of the throwaway instances: ingress from the verifier only. */
  public readonly throwawaySecurityGroup: ec2.SecurityGroup;
  /** Security group of the verifier function. */
  public readonly verifierSecurityGroup: ec2.SecurityGroup;
  /** Fires when no verification succeeded within the schedule period plus grace (failed or did not run). */
  public readonly failedAlarm: cloudwatch.Alarm;
  /** Fires within the hour when a run reports failure. */
  public readonly runFailedAlarm: cloudwatch.Alarm;
  /** Fires when the measured RPO exceeds the target. */
  public readonly rpoAlarm: cloudwatch.Alarm;
  /** Identifier prefix of the throwaway instances. */
  public readonly instanceIdentifierPrefix: string;

  private readonly heartbeatScheduleRole: iam.Role;
  private readonly environmentName: string;
  private readonly databaseName: string;
  private readonly schedulePeriod: Duration;

  constructor(scope: Construct, id: string, props: RestoreVerificationProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const scheduleExpression = props.schedule ?? scheduler.ScheduleExpression.expression('cron(0 4 * * ? *)');
    const restoreTimeout = props.restoreTimeout ?? Duration.minutes(90);
    const pollInterval = props.pollInterval ?? Duration.minutes(1);
    const criticalTables = props.criticalTables ?? DEFAULT_CRITICAL_TABLES;
    const rpoTarget = props.rpoTarget ?? Duration.minutes(15);
    const heartbeatInterval = props.heartbeatInterval ?? Duration.minutes(5);
    const instanceType =
      props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO);
    const stateMachineTimeout = restoreTimeout.plus(STATE_MACHINE_MARGIN);
    const orphanMaxAge = props.orphanMaxAge ?? stateMachineTimeout.plus(Duration.hours(1));
    const prefix = props.instanceIdentifierPrefix ?? 'shipshape-rv-';
    const verifierUser = props.verifierUser ?? 'restore_verifier';
    const heartbeatUser = props.heartbeatUser ?? 'app';
    const port = props.port ?? 5432;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.schedulePeriod = props.schedulePeriod ?? periodOf(scheduleExpression);
    this.environmentName = props.environmentName ?? stack.stackName;
    this.databaseName = props.databaseName;
    this.instanceIdentifierPrefix = prefix;

    this.validate({
      restoreTimeout,
      pollInterval,
      criticalTables,
      rpoTarget,
      heartbeatInterval,
      stateMachineTimeout,
      orphanMaxAge,
      prefix,
      runbookUrl: props.runbookUrl,
    });

    // --- Network: the throwaway instance admits the verifier only -----------------------------
    this.throwawaySecurityGroup = new ec2.SecurityGroup(this, 'ThrowawaySecurityGroup', {
      vpc: props.vpc,
      description: 'Restore-verification throwaway instances: reachable from the verifier only',
      allowAllOutbound: false,
    });
    this.verifierSecurityGroup = new ec2.SecurityGroup(this, 'VerifierSecurityGroup', {
      vpc: props.vpc,
      description: 'Restore verifier: PostgreSQL to the throwaway instance and the proxy only',
      allowAllOutbound: false,
    });
    this.throwawaySecurityGroup.connections.allowFrom(
      this.verifierSecurityGroup,
      ec2.Port.tcp(port),
      'PostgreSQL from the restore verifier',
    );
    const heartbeatSecurityGroup = new ec2.SecurityGroup(this, 'HeartbeatSecurityGroup', {
      vpc: props.vpc,
      description: 'Heartbeat writer: PostgreSQL to the proxy only',
      allowAllOutbound: false,
    });
    // The proxy usually lives in another (stateful) stack. `remoteRule: true` places each
    // ingress rule next to our security group, so that stack never references this one.
    for (const [client, why] of [
      [this.verifierSecurityGroup, 'Restore verifier reads the migration history'],
      [heartbeatSecurityGroup, 'Heartbeat writer'],
    ] as const) {
      for (const proxySecurityGroup of props.proxy.connections.securityGroups) {
        proxySecurityGroup.addIngressRule(client, ec2.Port.tcp(port), why, true);
        client.addEgressRule(proxySecurityGroup, ec2.Port.tcp(port), `${why}: to the RDS Proxy`);
      }
    }

    const subnetGroup =
      props.subnetGroup ??
      new rds.SubnetGroup(this, 'SubnetGroup', {
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
        description: 'Restore-verification throwaway instances (isolated subnets)',
        removalPolicy: RemovalPolicy.DESTROY,
      });
    const parameterGroupName = props.parameterGroup?.bindToInstance({}).parameterGroupName;

    // --- Functions ---------------------------------------------------------------------------
    const fn = (fid: string, entry: string, description: string, extra: Partial<lambda.FunctionProps>) => {
      const logGroup = new logs.LogGroup(this, `${fid}Logs`, {
        retention: logRetention,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      return new lambda.Function(this, fid, {
        code: handlerCode(`restore-verification/${entry}`),
        handler: 'index.handler',
        description,
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        tracing: lambda.Tracing.ACTIVE,
        ...extra,
        environment: { NODE_OPTIONS: '--enable-source-maps', ...extra.environment },
      });
    };

    this.controlFunction = fn(
      'Control',
      'control',
      'Restore verification: janitor, restore, poll, delete, report',
      {
        timeout: Duration.minutes(5),
        environment: {
          IDENTIFIER_PREFIX: prefix,
          SOURCE_INSTANCE_IDENTIFIER: props.instance.instanceIdentifier,
          SUBNET_GROUP_NAME: subnetGroup.subnetGroupName,
          SECURITY_GROUP_ID: this.throwawaySecurityGroup.securityGroupId,
          INSTANCE_CLASS: `db.${instanceType.toString()}`,
          ...(parameterGroupName ? { PARAMETER_GROUP_NAME: parameterGroupName } : {}),
          RESTORE_TIMEOUT_SECONDS: String(restoreTimeout.toSeconds()),
          ORPHAN_MAX_AGE_SECONDS: String(orphanMaxAge.toSeconds()),
          ENVIRONMENT_NAME: this.environmentName,
          DATABASE_NAME: props.databaseName,
        },
      },
    );
    const dbEnv = {
      DATABASE_NAME: props.databaseName,
      PROXY_ENDPOINT: props.proxy.endpoint,
      DATABASE_PORT: String(port),
    };
    // Node 20+ Lambda runtimes only trust the RDS certificate authorities through this bundle.
    const rdsCa = { NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' };
    this.verifierFunction = fn('Verifier', 'verifier', 'Restore verification: checks the restored database', {
      timeout: Duration.minutes(2),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [this.verifierSecurityGroup],
      environment: {
        ...dbEnv,
        ...rdsCa,
        DATABASE_USER: verifierUser,
        CRITICAL_TABLES: JSON.stringify(criticalTables.map((t) => ({ name: t.name, minRows: t.minRows }))),
      },
    });
    this.heartbeatFunction = fn(
      'Heartbeat',
      'heartbeat',
      'Writes a heartbeat row so restores measure a real RPO',
      {
        timeout: Duration.seconds(30),
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
        securityGroups: [heartbeatSecurityGroup],
        environment: { ...dbEnv, ...rdsCa, DATABASE_USER: heartbeatUser },
      },
    );

    this.grantRdsControl(this.controlFunction, props, subnetGroup, parameterGroupName, prefix);
    this.verifierFunction.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ConnectAsRestoreVerifierOnly',
        actions: ['rds-db:connect'],
        resources: [
          stack.formatArn({
            service: 'rds-db',
            resource: 'dbuser',
            resourceName: `*/${verifierUser}`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    props.proxy.grantConnect(this.heartbeatFunction, heartbeatUser);

    // --- State machine -------------------------------------------------------------------------
    this.stateMachine = this.buildStateMachine({
      pollInterval,
      stateMachineTimeout,
      logRetention,
      alarmTopic: props.alarmTopic,
    });

    // --- Schedules ---------------------------------------------------------------------------
    const schedulerPrincipal = new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    });
    this.heartbeatScheduleRole = new iam.Role(this, 'HeartbeatScheduleRole', {
      assumedBy: schedulerPrincipal,
    });
    const scheduleRole = new iam.Role(this, 'ScheduleRole', { assumedBy: schedulerPrincipal });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduleExpression,
      description: `Starts the restore verification of ${props.databaseName}`,
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        role: scheduleRole,
        input: scheduler.ScheduleTargetInput.fromObject({}),
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });
    new scheduler.Schedule(this, 'HeartbeatSchedule', {
      schedule: scheduler.ScheduleExpression.rate(heartbeatInterval),
      description: `Writes a heartbeat row into ${props.databaseName}`,
      target: new schedulerTargets.LambdaInvoke(this.heartbeatFunction, {
        role: this.heartbeatScheduleRole,
        retryAttempts: 0,
        maxEventAge: heartbeatInterval.toSeconds() >= 60 ? heartbeatInterval : Duration.minutes(1),
      }),
    });

    // --- Alarms ------------------------------------------------------------------------------
    const runbook = `Runbook: ${props.runbookUrl}`;
    // "Failed or did not run", as a sliding window: hourly datapoints of Success (Maximum), and
    // the alarm fires only when NONE of the last `schedule period + restore timeout + 1 h` hours
    // holds a success (missing hours breach). A single daily datapoint would instead sit in
    // ALARM every morning between midnight UTC and the run.
    const staleHours = Math.ceil(
      (this.schedulePeriod.toSeconds() + restoreTimeout.toSeconds() + 3_600) / 3_600,
    );
    this.failedAlarm = new cloudwatch.Alarm(this, 'FailedAlarm', {
      metric: this.metricSuccess({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.hours(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: staleHours,
      datapointsToAlarm: staleHours,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription:
        `No successful restore verification of ${props.databaseName} (${this.environmentName}) in the last ` +
        `${staleHours} hours (schedule period + restore timeout + 1 h): runs failed or did not run, so the backups are unproven. ${runbook}`,
    });
    // A failed run pages at once rather than when the window above runs out.
    this.runFailedAlarm = new cloudwatch.Alarm(this, 'RunFailedAlarm', {
      metric: this.metricSuccess({ statistic: cloudwatch.Stats.MINIMUM, period: Duration.hours(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `A restore verification run of ${props.databaseName} (${this.environmentName}) failed in the last hour; ` +
        `the state machine's notification carries the reason. ${runbook}`,
    });
    this.rpoAlarm = new cloudwatch.Alarm(this, 'RpoAlarm', {
      metric: this.metricRpoSeconds({ statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: rpoTarget.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `The restore of ${props.databaseName} (${this.environmentName}) lost more than ` +
        `${rpoTarget.toHumanString()} of data (RPO target). ${runbook}`,
    });
    if (props.alarmTopic) {
      for (const alarm of [this.failedAlarm, this.runFailedAlarm, this.rpoAlarm]) {
        alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
        alarm.addOkAction(new cwActions.SnsAction(props.alarmTopic));
      }
    }

    this.acknowledgeFindings();

    // Marks the source database as covered by a restore test: the ProductionReadiness rule
    // RDSRestoreVerified (lib/policy) reads this tag. A no-op on imported instances.
    Tags.of(props.instance).add(RESTORE_VERIFIED_MARKER, this.node.path);
  }

  /** `Success`: 1 for a verified restore, 0 for a failed run. */
  public metricSuccess(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Success', { statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  /** `RtoSeconds`: from the restore request to a verified database. */
  public metricRtoSeconds(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RtoSeconds', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /** `RpoSeconds`: from the newest restored heartbeat to the restore request. */
  public metricRpoSeconds(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RpoSeconds', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /** Lets a principal start a verification run by hand. */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  private metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: RESTORE_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { Environment: this.environmentName, Database: this.databaseName },
      period: this.schedulePeriod,
      ...props,
    });
  }

  private grantRdsControl(
    grantee: lambda.IFunction,
    props: RestoreVerificationProps,
    subnetGroup: rds.ISubnetGroup,
    parameterGroupName: string | undefined,
    prefix: string,
  ): void {
    const stack = Stack.of(this);
    const rdsArn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'rds', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const throwaway = rdsArn('db', `${prefix}*`);
    const purposeTag = { [`aws:RequestTag/${RESTORE_TAGS.purpose}`]: RESTORE_PURPOSE };

    const statements = [
      new iam.PolicyStatement({
        sid: 'ListAndDescribeInstances',
        actions: ['rds:DescribeDBInstances'],
        resources: [rdsArn('db', '*')],
      }),
      new iam.PolicyStatement({
        sid: 'RestoreIntoTaggedThrowawayOnly',
        actions: ['rds:RestoreDBInstanceToPointInTime', 'rds:AddTagsToResource'],
        resources: [throwaway],
        conditions: { StringEquals: purposeTag },
      }),
      new iam.PolicyStatement({
        sid: 'RestoreFromTheSourceOnly',
        actions: ['rds:RestoreDBInstanceToPointInTime'],
        resources: [
          props.instance.instanceArn,
          rdsArn('subgrp', subnetGroup.subnetGroupName),
          rdsArn('og', 'default:*'),
          rdsArn('pg', parameterGroupName ?? 'default.*'),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'DeleteTaggedThrowawayOnly',
        actions: ['rds:DeleteDBInstance'],
        resources: [throwaway],
        conditions: { StringEquals: { [`aws:ResourceTag/${RESTORE_TAGS.purpose}`]: RESTORE_PURPOSE } },
      }),
    ];
    for (const statement of statements) grantee.addToRolePolicy(statement);
    if (props.encryptionKey) {
      // RDS encrypts the restore with the source's key through a grant it creates for itself.
      grantee.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'LetRdsUseTheSourceKey',
          actions: ['kms:DescribeKey', 'kms:CreateGrant'],
          resources: [props.encryptionKey.keyArn],
          conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
        }),
      );
    }
  }

  private buildStateMachine(opts: {
    pollInterval: Duration;
    stateMachineTimeout: Duration;
    logRetention: logs.RetentionDays;
    alarmTopic?: sns.ITopic;
  }): sfn.StateMachine {
    const executionName = sfn.JsonPath.stringAt('$$.Execution.Name');
    const invoke = (
      sid: string,
      fn: lambda.IFunction,
      payload: Record<string, unknown>,
      resultPath: string,
    ) =>
      new tasks.LambdaInvoke(this, sid, {
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
        resultPath,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(5)),
      });
    const retryTransient = (task: tasks.LambdaInvoke): tasks.LambdaInvoke => {
      task.addRetry({
        errors: ['RetryableError'],
        interval: Duration.seconds(30),
        backoffRate: 2,
        maxAttempts: 3,
      });
      return task;
    };

    // Failure branch: delete, publish Success=0, notify, fail. Every step continues on error.
    const failed = new sfn.Fail(this, 'RestoreVerificationFailed', {
      errorPath: '$.failure.Error',
      causePath: '$.failure.Cause',
    });
    const deleteAfterFailure = this.deleteTask('DeleteAfterFailure', executionName);
    const publishFailure = invoke(
      'PublishFailureMetrics',
      this.controlFunction,
      { action: 'report', executionName, success: false, reason: sfn.JsonPath.stringAt('$.failure.Cause') },
      '$.report',
    );
    let notifyOrFail: sfn.IChainable = failed;
    if (opts.alarmTopic) {
      const notify = new tasks.SnsPublish(this, 'NotifyFailure', {
        topic: opts.alarmTopic,
        subject: `Restore verification failed: ${this.databaseName} (${this.environmentName})`,
        message: sfn.TaskInput.fromText(
          sfn.JsonPath.format(
            'Restore verification run {} failed. Error: {}. Cause: {}. The throwaway instance was deleted (see the execution history if the delete step failed).',
            executionName,
            sfn.JsonPath.stringAt('$.failure.Error'),
            sfn.JsonPath.stringAt('$.failure.Cause'),
          ),
        ),
        resultPath: '$.notification',
      });
      notify.addCatch(failed, { resultPath: '$.notifyError' });
      notify.next(failed);
      notifyOrFail = notify;
    }
    deleteAfterFailure.addCatch(publishFailure, { resultPath: '$.cleanupError' });
    publishFailure.addCatch(notifyOrFail, { resultPath: '$.reportError' });
    deleteAfterFailure.next(publishFailure);
    publishFailure.next(notifyOrFail);
    const onError = <T extends sfn.TaskStateBase>(task: T): T => {
      task.addCatch(deleteAfterFailure, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
      return task;
    };

    // Main path.
    const janitor = onError(
      retryTransient(
        invoke('Janitor', this.controlFunction, { action: 'janitor', executionName }, '$.janitor'),
      ),
    );
    const startRestore = onError(
      retryTransient(
        invoke('StartRestore', this.controlFunction, { action: 'startRestore', executionName }, '$.restore'),
      ),
    );
    const readSource = onError(
      retryTransient(
        invoke('ReadSourceMigrations', this.verifierFunction, { action: 'readSource' }, '$.source'),
      ),
    );
    const wait = new sfn.Wait(this, 'WaitForRestore', { time: sfn.WaitTime.duration(opts.pollInterval) });
    const check = onError(
      retryTransient(
        invoke(
          'CheckRestore',
          this.controlFunction,
          { action: 'describe', executionName, requestedAt: sfn.JsonPath.stringAt('$.restore.requestedAt') },
          '$.status',
        ),
      ),
    );
    const verify = onError(
      retryTransient(
        invoke(
          'Verify',
          this.verifierFunction,
          {
            action: 'verify',
            host: sfn.JsonPath.stringAt('$.status.host'),
            port: sfn.JsonPath.numberAt('$.status.port'),
            restorePointTime: sfn.JsonPath.stringAt('$.restore.restorePointTime'),
            requestedAt: sfn.JsonPath.stringAt('$.restore.requestedAt'),
            sourceMigrations: sfn.JsonPath.listAt('$.source.migrations'),
          },
          '$.verification',
        ),
      ),
    );
    const deleteAfterSuccess = onError(this.deleteTask('DeleteAfterSuccess', executionName));
    const publishSuccess = onError(
      invoke(
        'PublishSuccessMetrics',
        this.controlFunction,
        {
          action: 'report',
          executionName,
          success: true,
          rtoSeconds: sfn.JsonPath.numberAt('$.verification.rtoSeconds'),
          rpoSeconds: sfn.JsonPath.numberAt('$.verification.rpoSeconds'),
        },
        '$.report',
      ),
    );
    const restoreFailed = new sfn.Pass(this, 'RestoreFailed', {
      parameters: {
        Error: 'RestoreFailed',
        Cause: sfn.JsonPath.format(
          'The restored instance reached status {}',
          sfn.JsonPath.stringAt('$.status.status'),
        ),
      },
      resultPath: '$.failure',
    }).next(deleteAfterFailure);
    const restoreTimedOut = new sfn.Pass(this, 'RestoreTimedOut', {
      parameters: {
        Error: 'RestoreTimedOut',
        Cause: sfn.JsonPath.format(
          'The restored instance was still {} after {} seconds',
          sfn.JsonPath.stringAt('$.status.status'),
          sfn.JsonPath.stringAt('$.status.elapsedSeconds'),
        ),
      },
      resultPath: '$.failure',
    }).next(deleteAfterFailure);

    const definition = janitor
      .next(startRestore)
      .next(readSource)
      .next(wait)
      .next(check)
      .next(
        new sfn.Choice(this, 'RestoreAvailable?')
          .when(
            sfn.Condition.stringEquals('$.status.state', 'available'),
            verify.next(deleteAfterSuccess).next(publishSuccess).next(new sfn.Succeed(this, 'Verified')),
          )
          .when(sfn.Condition.stringEquals('$.status.state', 'failed'), restoreFailed)
          .when(sfn.Condition.stringEquals('$.status.state', 'timedOut'), restoreTimedOut)
          .otherwise(wait),
      );

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: opts.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stateMachine = new sfn.StateMachine(this, 'Resource', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      comment: 'Restore the database at its latest restorable time, verify it, always delete it',
      timeout: opts.stateMachineTimeout,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    opts.alarmTopic?.grantPublish(stateMachine);
    return stateMachine;
  }

  private deleteTask(id: string, executionName: string): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(this, id, {
      lambdaFunction: this.controlFunction,
      payload: sfn.TaskInput.fromObject({ action: 'delete', executionName }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
      resultPath: '$.cleanup',
      taskTimeout: sfn.Timeout.duration(Duration.minutes(5)),
    });
    task
      .addRetry({
        // A restore still `creating` cannot be deleted yet: wait for it, up to 45 minutes.
        errors: ['InstanceNotDeletableYet'],
        interval: DELETE_RETRY_INTERVAL,
        backoffRate: 1,
        maxAttempts: DELETE_RETRY_ATTEMPTS,
      })
      .addRetry({
        errors: ['RetryableError'],
        interval: Duration.seconds(30),
        backoffRate: 2,
        maxAttempts: 3,
      });
    return task;
  }

  private validate(v: {
    restoreTimeout: Duration;
    pollInterval: Duration;
    criticalTables: CriticalTable[];
    rpoTarget: Duration;
    heartbeatInterval: Duration;
    stateMachineTimeout: Duration;
    orphanMaxAge: Duration;
    prefix: string;
    runbookUrl: string;
  }): void {
    const fail = (what: string) => {
      throw new Error(`RestoreVerification '${this.node.path}': ${what}`);
    };
    const known = (d: Duration) => !Token.isUnresolved(d.toSeconds({ integral: false }));
    if (
      known(v.restoreTimeout) &&
      (v.restoreTimeout.toMinutes() < 15 || v.restoreTimeout.toMinutes() > 720)
    ) {
      fail(
        `restoreTimeout must be between 15 minutes and 12 hours (RDS restores take 10+ minutes), got ${v.restoreTimeout.toHumanString()}`,
      );
    }
    if (
      known(v.pollInterval) &&
      (v.pollInterval.toSeconds() < 10 || v.pollInterval.toSeconds() >= v.restoreTimeout.toSeconds())
    ) {
      fail(
        `pollInterval must be at least 10 seconds and shorter than restoreTimeout, got ${v.pollInterval.toHumanString()}`,
      );
    }
    if (
      known(v.heartbeatInterval) &&
      (v.heartbeatInterval.toSeconds() < 60 || v.heartbeatInterval.toSeconds() % 60 !== 0)
    ) {
      fail(
        `heartbeatInterval must be a whole number of minutes (Scheduler rates), got ${v.heartbeatInterval.toHumanString()}`,
      );
    }
    if (
      known(v.rpoTarget) &&
      known(v.heartbeatInterval) &&
      v.rpoTarget.toSeconds() <= v.heartbeatInterval.toSeconds()
    ) {
      fail(
        `rpoTarget (${v.rpoTarget.toHumanString()}) must exceed heartbeatInterval (${v.heartbeatInterval.toHumanString()}): ` +
          'the RPO is measured in heartbeats, so the alarm would always fire; lower the interval or raise the target',
      );
    }
    if (known(v.orphanMaxAge) && v.orphanMaxAge.toSeconds() <= v.stateMachineTimeout.toSeconds()) {
      fail(
        `orphanMaxAge (${v.orphanMaxAge.toHumanString()}) must exceed the state machine timeout ` +
          `(${v.stateMachineTimeout.toHumanString()}) so the janitor never deletes the instance of a live run`,
      );
    }
    if (!Token.isUnresolved(v.prefix) && !IDENTIFIER_PREFIX_PATTERN.test(v.prefix)) {
      fail(
        `instanceIdentifierPrefix '${v.prefix}' is not a valid RDS identifier prefix: use 2-30 lowercase letters, ` +
          "digits and single hyphens, starting with a letter and ending with '-' (e.g. 'shipshape-rv-')",
      );
    }
    if (v.criticalTables.length === 0) {
      fail(
        'criticalTables is empty: list at least one table the restore must contain, e.g. { name: "heartbeat", minRows: 1 }',
      );
    }
    const seen = new Set<string>();
    for (const t of v.criticalTables) {
      if (!TABLE_NAME.test(t.name)) {
        fail(
          `criticalTables: '${t.name}' is not a lower-case table name in schema public (letters, digits, underscores)`,
        );
      }
      if (!Number.isInteger(t.minRows) || t.minRows < 0) {
        fail(`criticalTables: minRows of '${t.name}' must be a non-negative integer, got ${t.minRows}`);
      }
      if (seen.has(t.name)) fail(`criticalTables: '${t.name}' is listed twice`);
      seen.add(t.name);
    }
    if (!Token.isUnresolved(v.runbookUrl) && !/^https:\/\/\S+$/.test(v.runbookUrl)) {
      fail(`runbookUrl must be an https:// URL, got '${v.runbookUrl}'`);
    }
    if (known(this.schedulePeriod)) {
      const s = this.schedulePeriod.toSeconds();
      if (s < 60 || s > 86_400 || s % 60 !== 0) {
        fail(
          `the schedule period (${this.schedulePeriod.toHumanString()}) must be whole minutes between 1 minute and 1 day: ` +
            'CloudWatch cannot alarm on a longer period; run the verification at least daily',
        );
      }
    }
  }

  private acknowledgeFindings(): void {
    const stack = Stack.of(this);
    const literal = (value: string, pseudo: string) =>
      Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
    const arnBase = `arn:${literal(stack.partition, 'Partition')}:%s:${literal(stack.region, 'Region')}:${literal(stack.account, 'AccountId')}`;
    const arn = (service: string, rest: string) => `${arnBase.replace('%s', service)}:${rest}`;
    const fnArn = (f: lambda.Function) =>
      `<${stack.getLogicalId(f.node.defaultChild as lambda.CfnFunction)}.Arn>:*`;
    const ack = (scope: Construct, finding: string, reason: string) =>
      Validations.of(scope).acknowledge({ id: `AwsSolutions-${finding}`, reason });

    const basic =
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
    const vpcAccess =
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]';
    for (const f of [this.controlFunction, this.verifierFunction, this.heartbeatFunction]) {
      ack(
        f,
        basic,
        'AWS managed policy granting only CloudWatch Logs delivery for this function; AWS keeps it minimal.',
      );
    }
    for (const f of [this.verifierFunction, this.heartbeatFunction]) {
      ack(f, vpcAccess, 'AWS managed policy granting only the ENI management a function in a VPC needs.');
    }
    ack(
      this.controlFunction,
      `IAM5[Resource::${arn('rds', 'db:*')}]`,
      'rds:DescribeDBInstances only: the janitor lists instances to find orphans by prefix and tag. It changes nothing.',
    );
    ack(
      this.controlFunction,
      `IAM5[Resource::${arn('rds', `db:${this.instanceIdentifierPrefix}*`)}]`,
      'Throwaway identifiers are derived from the execution name at run time; restore and delete are limited to this prefix and conditioned on the shipshape:purpose tag.',
    );
    ack(
      this.controlFunction,
      `IAM5[Resource::${arn('rds', 'og:default:*')}]`,
      'The restore uses the default option group of the engine version, whose name depends on that version.',
    );
    ack(
      this.controlFunction,
      `IAM5[Resource::${arn('rds', 'pg:default.*')}]`,
      'Without a parameter group prop the restore uses the default parameter group of the engine family.',
    );
    ack(
      this.verifierFunction,
      `IAM5[Resource::${arn('rds-db', 'dbuser:*/restore_verifier')}]`,
      'The resource id of the throwaway instance is unknown until it is restored; the verifier may connect only as the read-only restore_verifier.',
    );
    for (const f of [this.controlFunction, this.verifierFunction]) {
      ack(
        this.stateMachine,
        `IAM5[Resource::${fnArn(f)}]`,
        'Generated by LambdaInvoke: invoking any version of this one function.',
      );
    }
    ack(
      this.stateMachine,
      'IAM5[Resource::*]',
      'Generated by CDK for X-Ray tracing and CloudWatch Logs delivery of the state machine: these actions support no resource scoping.',
    );
    ack(
      this.stateMachine,
      'IAM5[Action::kms:GenerateDataKey*]',
      'Generated by Topic.grantPublish: publishing to the KMS-encrypted alarm topic needs data keys of its key only.',
    );
    ack(
      this.heartbeatScheduleRole,
      `IAM5[Resource::${fnArn(this.heartbeatFunction)}]`,
      'Generated by the Scheduler Lambda target: invoking any version of the heartbeat function only.',
    );
    this.acknowledgeNistAndServerlessFindings();
  }

  private acknowledgeNistAndServerlessFindings(): void {
    const ack = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id, reason });
    ack(
      this,
      'NIST.800.53.R5-IAMNoInlinePolicy',
      "CDK grant methods write each role's least-privilege statements into that role's own DefaultPolicy, scoped to this construct's resources; a managed policy would be shareable across roles, which least privilege avoids.",
    );
    const logs =
      'Operational logs of the restore test (instance ids, timings, counts; never credentials or row data), encrypted at rest by CloudWatch Logs with service keys; one-year retention.';
    ack(this, 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', logs);
    ack(this, guardRuleId('cloudwatch_log_group_encrypted_check'), logs);
    for (const f of [this.verifierFunction, this.heartbeatFunction]) {
      ack(
        f,
        guardRuleId('lambda_inside_vpc_check'),
        'The function runs in the VPC (data subnets, its own security group); its subnet ids are imported from the stateful stack (Fn::ImportValue), which the Control Tower rule cannot resolve.',
      );
    }
    for (const f of [this.controlFunction, this.verifierFunction, this.heartbeatFunction]) {
      ack(
        f,
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray tracing (tracing: ACTIVE) adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource scoping.',
      );
      ack(
        f,
        'NIST.800.53.R5-LambdaConcurrency',
        'Runs a few times a day from a schedule, one execution at a time; reserving concurrency would take capacity from the account pool (new accounts have 10) for no protection.',
      );
    }
    for (const f of [this.controlFunction, this.verifierFunction]) {
      const reason =
        'Invoked synchronously by the state machine, whose Catch path deletes the throwaway instance and reports the failure; a DLQ applies only to asynchronous invocations.';
      ack(f, 'NIST.800.53.R5-LambdaDLQ', reason);
      ack(f, 'Serverless-LambdaDLQ', reason);
    }
    const heartbeat =
      'Invoked by EventBridge Scheduler with no retries on purpose: missed heartbeats show up as a larger measured RPO in the next verification (and its RPO alarm); a DLQ of stale heartbeats would be replayed too late to be useful.';
    ack(this.heartbeatFunction, 'NIST.800.53.R5-LambdaDLQ', heartbeat);
    ack(this.heartbeatFunction, 'Serverless-LambdaDLQ', heartbeat);
    const controlOutsideVpc =
      'Calls only control-plane APIs (RDS, CloudWatch, SNS) and never the database; placing it in the VPC would add ENIs and interface endpoints without reducing what it can reach.';
    ack(this.controlFunction, 'NIST.800.53.R5-LambdaInsideVPC', controlOutsideVpc);
    ack(this.controlFunction, guardRuleId('lambda_inside_vpc_check'), controlOutsideVpc);
  }
}

/** The period of a schedule: the rate of `rate()`, one day for `cron()`. */
function periodOf(schedule: scheduler.ScheduleExpression): Duration {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule.expressionString);
  if (!rate) return Duration.days(1);
  const n = Number(rate[1]);
  if (rate[2].startsWith('minute')) return Duration.minutes(n);
  if (rate[2].startsWith('hour')) return Duration.hours(n);
  return Duration.days(n);
}
