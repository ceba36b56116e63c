import { ArnFormat, Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RESTORE_VERIFIED_MARKER } from '../policy/readiness-rules';
import { type CriticalTable, RESTORE_METRICS_NAMESPACE } from '../../lambda/shared/restore-verification';
import { acknowledgeRestoreVerificationFindings } from './acknowledgements';
import {
  addRestoreVerificationMonitoring,
  createRestoreVerificationAlarms,
  type RestoreVerificationMonitoringOptions,
} from './alarms';
import type { AlarmTarget } from '../observability/alarm-target';
import { buildExecutionCleanup } from './cleanup';
import { grantRdsControl } from './permissions';
import type { RestoreVerificationProps } from './props';
import { buildStateMachine } from './state-machine';
import { validateRestoreVerification } from './validation';
import { handlerCode } from '../util/handler-code';

export * from './props';
export type { RestoreVerificationAlarmOptions, RestoreVerificationMonitoringOptions } from './alarms';

const DEFAULT_CRITICAL_TABLES: CriticalTable[] = [{ name: 'heartbeat', minRows: 1 }];
/** Time for everything around the wait loop: janitor, verify, delete retries, report. */
const STATE_MACHINE_MARGIN = Duration.minutes(75);

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
  /** Deletes the instance of an execution that failed, timed out or was aborted (EventBridge-triggered). */
  public readonly cleanupStateMachine: sfn.StateMachine;
  /** The daily (by default) schedule starting the state machine. */
  public readonly schedule: scheduler.Schedule;
  /** RDS control-plane steps: janitor, start restore, describe, delete, report. */
  public readonly controlFunction: lambda.Function;
  /** Connects to the restored instance as `restore_verifier` and checks it. */
  public readonly verifierFunction: lambda.Function;
  /** Inserts a heartbeat row on a schedule. */
  public readonly heartbeatFunction: lambda.Function;
  /** Database user the heartbeat writer signs in as (see {@link RestoreVerificationProps.heartbeatUser}). */
  public readonly heartbeatUser: string;
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
  /** How often the heartbeat writer runs. */
  public readonly heartbeatInterval: Duration;

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
    this.heartbeatInterval = heartbeatInterval;
    const instanceType =
      props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO);
    const stateMachineTimeout = restoreTimeout.plus(STATE_MACHINE_MARGIN);
    const orphanMaxAge = props.orphanMaxAge ?? stateMachineTimeout.plus(Duration.hours(1));
    const prefix = props.instanceIdentifierPrefix ?? 'shipshape-rv-';
    const verifierUser = props.verifierUser ?? 'restore_verifier';
    const heartbeatUser = props.heartbeatUser ?? 'shipshape_heartbeat';
    this.heartbeatUser = heartbeatUser;
    const port = props.port ?? 5432;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.schedulePeriod = props.schedulePeriod ?? periodOf(scheduleExpression);
    this.environmentName = props.environmentName ?? stack.stackName;
    this.databaseName = props.databaseName;
    this.instanceIdentifierPrefix = prefix;

    validateRestoreVerification(this, {
      schedulePeriod: this.schedulePeriod,
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

    grantRdsControl(this, this.controlFunction, props, subnetGroup, parameterGroupName, prefix);
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
    this.stateMachine = buildStateMachine(this, {
      controlFunction: this.controlFunction,
      verifierFunction: this.verifierFunction,
      databaseName: this.databaseName,
      environmentName: this.environmentName,
      pollInterval,
      stateMachineTimeout,
      logRetention,
      alarmTopic: props.alarmTopic,
    });
    this.cleanupStateMachine = buildExecutionCleanup(this, {
      controlFunction: this.controlFunction,
      verification: this.stateMachine,
      logRetention,
    }).stateMachine;

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
    ({
      failedAlarm: this.failedAlarm,
      runFailedAlarm: this.runFailedAlarm,
      rpoAlarm: this.rpoAlarm,
    } = createRestoreVerificationAlarms(this, {
      databaseName: props.databaseName,
      environmentName: this.environmentName,
      schedulePeriod: this.schedulePeriod,
      restoreTimeout,
      rpoTarget,
      runbookUrl: props.runbookUrl,
      alarmTopic: props.alarmTopic,
    }));

    acknowledgeRestoreVerificationFindings(this, this.heartbeatScheduleRole);

    // Marks the source database as covered by a restore test: the ProductionReadiness rule
    // RestoreTested (lib/policy) reads this tag. A no-op on imported instances.
    Tags.of(props.instance).add(RESTORE_VERIFIED_MARKER, this.node.path);
  }

  /**
   * Adds the verification to an environment's monitoring in `target`: Lambda alarms of its three
   * functions, `HeartbeatMissing` (the writer did not write for max(5 min, 3 intervals)), and
   * dashboard widgets. Its own alarms ({@link failedAlarm}, {@link runFailedAlarm},
   * {@link rpoAlarm}) exist without a target. Returns the heartbeat alarm.
   */
  public addAlarms(
    target: AlarmTarget,
    options: RestoreVerificationMonitoringOptions = {},
  ): cloudwatch.Alarm {
    return addRestoreVerificationMonitoring(
      this,
      target,
      options.heartbeatInterval ?? this.heartbeatInterval,
    );
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
