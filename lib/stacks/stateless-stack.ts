import { CfnOutput, Duration, Size } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { SafeDeployment } from '../deployment/safe-deployment';
import { Edge } from '../edge/edge';
import { BackgroundJobs } from '../jobs/background-jobs';
import { SubnetTier } from '../network/network';
import { AlarmTopics } from '../observability/alarm-topics';
import { instanceClassMemory, Observability } from '../observability/observability';
import { RestoreVerification } from '../restore-verification/restore-verification';
import { criticalTablesOf, sampleApplication, type ServiceApplication } from '../service/application';
import { Service } from '../service/service';
import type { StatefulStack } from './stateful-stack';
import { ShipshapeStack, type ShipshapeStackProps } from './shipshape-stack';

/** Props of {@link StatelessStack}. */
export interface StatelessStackProps extends ShipshapeStackProps {
  /** The stateful stack of the same environment, whose resources this stack uses. */
  readonly stateful: StatefulStack;
  /**
   * The service this environment runs (code, migrations, checks).
   * @default - the sample API ({@link sampleApplication})
   */
  readonly application?: ServiceApplication;
}

/**
 * Code and everything that can be replaced without losing data: the service, its edge,
 * background jobs, restore verification, deployments and alarms. Safe to destroy and recreate.
 * (The Cognito user pool is the exception that proves the rule: it is retained on delete.)
 */
export class StatelessStack extends ShipshapeStack {
  public readonly alarmTopics: AlarmTopics;
  public readonly service: Service;
  /** The front door: HTTP API, CloudFront, and the WAF in its us-east-1 sibling stack. */
  public readonly edge: Edge;
  public readonly jobs: BackgroundJobs;
  public readonly restoreVerification: RestoreVerification;
  /** SLO burn-rate alerts, infrastructure alarms, dashboard and budget. */
  public readonly observability: Observability;
  /** CodeDeploy canaries on the API's `live` alias: migration gate, smoke test, auto-rollback. */
  public readonly deployment: SafeDeployment;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    // The edge's web ACL lives in a us-east-1 stack and is referenced from here.
    super(scope, id, { crossRegionReferences: true, ...props });
    this.addStackDependency(props.stateful, 'uses the network and data tier');
    const { config, stateful } = props;
    const { database, cache, network } = stateful;
    const application = props.application ?? sampleApplication();
    const runbook = (file: string) => `${config.observability.runbookBaseUrl.replace(/\/+$/, '')}/${file}`;

    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', { pageEmail: config.alarmEmail });

    // --- The service (the team's code; the sample API by default) --------------------------
    this.service = new Service(this, 'Service', {
      ...application,
      vpc: network.vpc,
      database,
      cache,
      memorySize: Size.mebibytes(config.service.memoryMiB),
      timeout: Duration.seconds(config.service.timeoutSeconds),
      requestsPerMinutePerCaller: config.service.perCallerRequestsPerMinute,
      accessTokenValidity: Duration.minutes(config.service.accessTokenMinutes),
      userPoolDeletionProtection: config.name === 'production',
    });

    // --- The front door ---------------------------------------------------------------------
    this.edge = new Edge(this, 'Edge', {
      handler: this.service.alias,
      healthPath: this.service.healthPath,
      userPool: this.service.userPool,
      userPoolClient: this.service.userPoolClient,
      throttleRatePerSecond: config.edge.throttleRatePerSecond,
      throttleBurst: config.edge.throttleBurst,
      perIpRequestsPer5Min: config.edge.perIpRequestsPer5Min,
      perIpWriteRequestsPer5Min: config.edge.perIpWriteRequestsPer5Min,
      writePathPrefixes: config.edge.writePathPrefixes,
      perIpSignInRequestsPer5Min: config.edge.perIpSignInRequestsPer5Min,
      logRetention: config.edge.logRetentionDays as logs.RetentionDays,
      domain: config.domain && {
        domainName: config.domain.domainName,
        certificate: acm.Certificate.fromCertificateArn(
          this,
          'EdgeCertificate',
          config.domain.certificateArn,
        ),
      },
    });
    // The API refuses requests that did not come through CloudFront.
    this.edge.grantOriginVerify(this.service.function);
    this.service.function.addEnvironment('ORIGIN_VERIFY_SECRET_ARN', this.edge.originVerifySecret.secretArn);

    // --- Background jobs --------------------------------------------------------------------
    this.jobs = new BackgroundJobs(this, 'Jobs', {
      vpc: network.vpc,
      vpcSubnets: network.subnets(SubnetTier.APPLICATION),
      database,
      maxReceiveCount: config.jobs.maxReceiveCount,
      worker: { maxConcurrency: config.jobs.maxConcurrency },
      maxMessageAge: Duration.minutes(config.jobs.maxMessageAgeMinutes),
      alarmTopic: this.alarmTopics.ticket,
      runbookBaseUrl: config.observability.runbookBaseUrl,
    });

    // --- Restore verification ---------------------------------------------------------------
    // Stateless: it only references the database; the throwaway instances it creates are
    // deleted by every run and never belong to a stack.
    const rv = config.restoreVerification;
    this.restoreVerification = new RestoreVerification(this, 'RestoreVerification', {
      instance: database.instance,
      proxy: database.proxy,
      databaseName: database.databaseName,
      port: database.port,
      subnetGroup: database.subnetGroup,
      parameterGroup: database.parameterGroup,
      encryptionKey: database.key,
      vpc: network.vpc,
      vpcSubnets: network.subnets(SubnetTier.DATA),
      schedule: scheduler.ScheduleExpression.expression(rv.schedule),
      restoreTimeout: Duration.minutes(rv.timeoutMinutes),
      heartbeatInterval: Duration.minutes(rv.heartbeatIntervalMinutes),
      rpoTarget: Duration.minutes(rv.rpoTargetMinutes),
      criticalTables: criticalTablesOf(application),
      instanceIdentifierPrefix: `shipshape-${config.name}-rv-`,
      environmentName: config.name,
      alarmTopic: this.alarmTopics.page,
      runbookUrl: runbook('restore-verification-failed.md'),
    });

    // --- Observability ----------------------------------------------------------------------
    this.observability = new Observability(this, 'Observability', {
      environmentName: config.name,
      topics: this.alarmTopics,
      alarmEmail: config.alarmEmail,
      runbookBaseUrl: config.observability.runbookBaseUrl,
      monthlyBudgetUsd: config.observability.monthlyBudgetUsd,
      rollbackDrillMaxAge: Duration.days(config.observability.rollbackDrillMaxAgeDays),
      slos: {
        availabilityTargetPercent: config.slo.availabilityTargetPercent,
        latencyTargetPercent: config.slo.latencyTargetPercent,
        latencyThreshold: Duration.millis(config.slo.latencyThresholdMs),
      },
      database,
      databaseAllocatedStorage: Size.gibibytes(config.database.allocatedStorageGiB),
      databaseMemory: instanceClassMemory(config.database.instanceClass),
      proxyMaxConnectionsPercent: config.database.proxy.maxConnectionsPercent,
      cache,
      restoreVerification: this.restoreVerification,
      heartbeatInterval: Duration.minutes(rv.heartbeatIntervalMinutes),
    });
    this.observability.addEdge(this.edge);
    // Every function gets throttles, duration near its timeout and concurrency; errors too,
    // except the jobs worker's, which BackgroundJobs already alarms on (one failure, one ticket).
    this.observability.monitorFunctions(
      {
        name: 'Api',
        function: this.service.function,
        timeout: Duration.seconds(config.service.timeoutSeconds),
        severity: 'page',
      },
      { name: 'JobsWorker', function: this.jobs.worker, errorsAlarm: false },
      { name: 'OutboxRelay', function: this.jobs.relay },
    );

    // --- Safe deployment --------------------------------------------------------------------
    this.deployment = new SafeDeployment(this, 'Deployment', {
      alias: this.service.alias,
      environmentName: config.name,
      trafficShift: {
        strategy: config.deployment.strategy,
        percentage: config.deployment.percentage,
        interval: Duration.minutes(config.deployment.intervalMinutes),
      },
      expectedRequestsPerMinute: config.deployment.expectedRequestsPerMinute,
      latencyThreshold: Duration.millis(config.slo.latencyThresholdMs),
      // The availability SLO's fast burn (5-minute window) also rolls a canary back.
      rollbackAlarms: this.observability.deploymentRollbackAlarms,
      alarmTopic: this.alarmTopics.ticket,
      runbookUrl: runbook('deployment-failed.md'),
      migrations: {
        secret: database.secret,
        endpoint: database.instance.instanceEndpoint,
        connections: database.instance,
        databaseName: database.databaseName,
        vpc: network.vpc,
        vpcSubnets: network.subnets(SubnetTier.APPLICATION),
        migrationsDirectory: application.migrationsDirectory,
      },
      healthPath: this.service.healthPath,
      smokeTest: {
        apiUrl: this.edge.url,
        userPoolClient: this.service.userPoolClient,
        healthPath: this.service.healthPath,
        // The sample's note round trip only for the sample; an adopted service runs its own checks.
        checks: props.application ? (application.smokeChecks ?? []) : undefined,
      },
      originVerifySecret: this.edge.originVerifySecret,
    });
    this.observability.monitorFunctions(
      { name: 'MigrationGate', function: this.deployment.migrationGate },
      ...(this.deployment.smokeTest ? [{ name: 'SmokeTest', function: this.deployment.smokeTest }] : []),
    );

    // --- Outputs: what operators, runbooks and the CLI look up ------------------------------
    const outputs: Record<string, [string, string]> = {
      ApiUrl: [this.edge.url, 'Public URL of the API (CloudFront)'],
      HttpApiUrl: [
        this.edge.httpApi.apiEndpoint,
        'execute-api endpoint (CloudFront origin; rejects requests without the origin-verify header)',
      ],
      DistributionId: [this.edge.distribution.distributionId, 'CloudFront distribution'],
      DistributionDomainName: [this.edge.distribution.distributionDomainName, 'CloudFront domain name'],
      AssetsBucketName: [this.edge.assetsBucket.bucketName, 'Static assets served under /assets/*'],
      CodeDeployApplication: [
        this.deployment.application.applicationName,
        'CodeDeploy application of the API deployments',
      ],
      DeploymentGroupName: [
        this.deployment.deploymentGroup.deploymentGroupName,
        'CodeDeploy deployment group that shifts the live alias',
      ],
      FunctionName: [this.service.function.functionName, 'Name of the API Lambda function'],
      MigrationGateFunctionName: [
        this.deployment.migrationGate.functionName,
        'BeforeAllowTraffic hook (migration gate) of the deployment group; the CLI names it in rollback deployments',
      ],
      ...(this.deployment.smokeTest
        ? {
            SmokeTestFunctionName: [
              this.deployment.smokeTest.functionName,
              'AfterAllowTraffic hook (smoke test) of the deployment group; the CLI names it in rollback deployments',
            ] as [string, string],
          }
        : {}),
      AliasName: [this.service.alias.aliasName, 'Alias that serves traffic (deployments shift it)'],
      ApiAliasArn: [this.service.alias.functionArn, 'ARN of the live alias (what the HTTP API invokes)'],
      UserPoolId: [this.service.userPool.userPoolId, 'Cognito user pool that issues API access tokens'],
      UserPoolClientId: [this.service.userPoolClient.userPoolClientId, 'Cognito app client of the API'],
      JobQueueUrl: [this.jobs.queue.queueUrl, 'Background job queue'],
      DeadLetterQueueUrl: [
        this.jobs.deadLetterQueue.queueUrl,
        'Jobs that failed every attempt (runbooks/dead-letter-queue.md)',
      ],
      RestoreVerificationStateMachineArn: [
        this.restoreVerification.stateMachine.stateMachineArn,
        'State machine of the daily restore verification (runbooks/restore-verification-failed.md)',
      ],
    };
    for (const [outputId, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, outputId, { value, description });
    }
  }
}
