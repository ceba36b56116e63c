import { CfnOutput, Duration, Size } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { Edge } from '../edge/edge';
import { SubnetTier } from '../network/network';
import { AlarmTopics } from '../observability/alarm-topics';
import { instanceClassMemory, Observability } from '../observability/observability';
import { RestoreVerification } from '../restore-verification/restore-verification';
import type { StatefulStack } from './stateful-stack';
import { ShipshapeStack, type ShipshapeStackProps } from './shipshape-stack';

/** Props of {@link StatelessStack}. */
export interface StatelessStackProps extends ShipshapeStackProps {
  /** The stateful stack of the same environment, whose resources this stack uses. */
  readonly stateful: StatefulStack;
}

/** What the edge fronts: the service's function and the user pool whose tokens it accepts. */
export interface EdgeTarget {
  /** The API function's `live` alias. */
  readonly handler: lambda.IFunction;
  readonly userPool: cognito.IUserPool;
  readonly userPoolClient: cognito.IUserPoolClient;
}

/**
 * Code and everything that can be replaced without losing data: the service, its edge,
 * deployments and alarms. Safe to destroy and recreate.
 */
export class StatelessStack extends ShipshapeStack {
  public readonly alarmTopics: AlarmTopics;
  public readonly restoreVerification: RestoreVerification;
  /** SLOs, alarms, dashboard, budget; the edge's part is added by {@link addEdge}. */
  public readonly observability: Observability;
  /** The front door (HTTP API, CloudFront, WAF); set by {@link addEdge}. */
  public edge?: Edge;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    // The edge's web ACL lives in a us-east-1 stack and is referenced from here.
    super(scope, id, { crossRegionReferences: true, ...props });
    this.addStackDependency(props.stateful, 'uses the network and data tier');
    const { config, stateful } = props;

    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', { pageEmail: config.alarmEmail });

    // Stateless: it only references the database; the throwaway instances it creates are
    // deleted by every run and never belong to a stack.
    const rv = config.restoreVerification;
    const { database } = stateful;
    this.restoreVerification = new RestoreVerification(this, 'RestoreVerification', {
      instance: database.instance,
      proxy: database.proxy,
      databaseName: database.databaseName,
      port: database.port,
      subnetGroup: database.subnetGroup,
      parameterGroup: database.parameterGroup,
      encryptionKey: database.key,
      vpc: stateful.network.vpc,
      vpcSubnets: stateful.network.subnets(SubnetTier.DATA),
      schedule: scheduler.ScheduleExpression.expression(rv.schedule),
      restoreTimeout: Duration.minutes(rv.timeoutMinutes),
      heartbeatInterval: Duration.minutes(rv.heartbeatIntervalMinutes),
      rpoTarget: Duration.minutes(rv.rpoTargetMinutes),
      criticalTables: [
        { name: 'notes', minRows: 0 },
        { name: 'accounts', minRows: 0 },
        { name: 'heartbeat', minRows: 1 },
      ],
      instanceIdentifierPrefix: `shipshape-${config.name}-rv-`,
      environmentName: config.name,
      alarmTopic: this.alarmTopics.page,
      runbookUrl: `${config.observability.runbookBaseUrl}/restore-verification-failed.md`,
    });
    new CfnOutput(this, 'RestoreVerificationStateMachineArn', {
      value: this.restoreVerification.stateMachine.stateMachineArn,
      description:
        'State machine of the daily restore verification (runbooks/restore-verification-failed.md)',
    });

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
      cache: stateful.cache,
      restoreVerification: this.restoreVerification,
      heartbeatInterval: Duration.minutes(rv.heartbeatIntervalMinutes),
    });
  }

  /**
   * Puts the service behind the edge, sized from config, and outputs what operators and the
   * CLI look up (API URL, distribution id and domain, assets bucket).
   */
  public addEdge(target: EdgeTarget): Edge {
    const { edge: edgeConfig, domain } = this.config;
    this.edge = new Edge(this, 'Edge', {
      ...target,
      throttleRatePerSecond: edgeConfig.throttleRatePerSecond,
      throttleBurst: edgeConfig.throttleBurst,
      perIpRequestsPer5Min: edgeConfig.perIpRequestsPer5Min,
      perIpWriteRequestsPer5Min: edgeConfig.perIpWriteRequestsPer5Min,
      logRetention: edgeConfig.logRetentionDays as logs.RetentionDays,
      domain: domain && {
        domainName: domain.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'EdgeCertificate', domain.certificateArn),
      },
    });
    new CfnOutput(this, 'ApiUrl', {
      value: this.edge.url,
      description: 'Public URL of the API (CloudFront)',
    });
    new CfnOutput(this, 'DistributionId', { value: this.edge.distribution.distributionId });
    new CfnOutput(this, 'DistributionDomainName', { value: this.edge.distribution.distributionDomainName });
    new CfnOutput(this, 'AssetsBucketName', { value: this.edge.assetsBucket.bucketName });
    new CfnOutput(this, 'OriginApiEndpoint', {
      value: this.edge.httpApi.apiEndpoint,
      description:
        'execute-api endpoint (CloudFront origin; rejects requests without the origin-verify header)',
    });
    this.observability.addEdge(this.edge);
    this.observability.monitorFunctions({
      name: 'Api',
      function: target.handler,
      timeout: Duration.seconds(this.config.service.timeoutSeconds),
      severity: 'page',
    });
    return this.edge;
  }
}
