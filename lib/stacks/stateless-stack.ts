import { CfnOutput, Duration, Size } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SafeDeployment } from '../deployment/safe-deployment';
import { Edge } from '../edge/edge';
import { SubnetTier } from '../network/network';
import { AlarmTopics } from '../observability/alarm-topics';
import { Service } from '../service/service';
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

/** What safe deployments act on: the API's alias and the client its smoke test signs in with. */
export interface DeploymentTarget {
  /** The API function's `live` alias (its version is the one being deployed). */
  readonly alias: lambda.Alias;
  /** The API's app client; the smoke test needs its `USER_PASSWORD_AUTH` flow. */
  readonly userPoolClient: cognito.IUserPoolClient;
  /**
   * Extra alarms that roll a deployment back (the SLO fast-burn alarm).
   * @default - the deployment's own error-rate and latency alarms only
   */
  readonly rollbackAlarms?: cloudwatch.IAlarm[];
}

/**
 * Code and everything that can be replaced without losing data: the service, its edge,
 * deployments and alarms. Safe to destroy and recreate.
 */
export class StatelessStack extends ShipshapeStack {
  public readonly alarmTopics: AlarmTopics;
  /** The front door (HTTP API, CloudFront, WAF); set by {@link addEdge}. */
  public edge?: Edge;
  /** CodeDeploy canaries, migration gate and smoke test; set by {@link addSafeDeployment}. */
  public deployment?: SafeDeployment;
  private readonly stateful: StatefulStack;
  public readonly service: Service;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    // The edge's web ACL lives in a us-east-1 stack and is referenced from here.
    super(scope, id, { crossRegionReferences: true, ...props });
    this.addStackDependency(props.stateful, 'uses the network and data tier');
    this.stateful = props.stateful;

    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', { pageEmail: props.config.alarmEmail });

    const { config, stateful } = props;
    this.service = new Service(this, 'Service', {
      vpc: stateful.network.vpc,
      database: stateful.database,
      cache: stateful.cache,
      memorySize: Size.mebibytes(config.service.memoryMiB),
      timeout: Duration.seconds(config.service.timeoutSeconds),
      requestsPerMinutePerCaller: config.service.perCallerRequestsPerMinute,
      accessTokenValidity: Duration.minutes(config.service.accessTokenMinutes),
      userPoolDeletionProtection: config.name === 'production',
    });
    const serviceOutputs: Record<string, [string, string]> = {
      ApiFunctionName: [this.service.function.functionName, 'Name of the API Lambda function'],
      ApiAliasName: [this.service.alias.aliasName, 'Alias that serves traffic (deployments shift it)'],
      ApiAliasArn: [this.service.alias.functionArn, 'ARN of the live alias (what the HTTP API invokes)'],
      UserPoolId: [this.service.userPool.userPoolId, 'Cognito user pool that issues API access tokens'],
      UserPoolClientId: [this.service.userPoolClient.userPoolClientId, 'Cognito app client of the API'],
    };
    for (const [outputId, [value, description]] of Object.entries(serviceOutputs)) {
      new CfnOutput(this, outputId, { value, description });
    }

    this.addSafeDeployment({ alias: this.service.alias, userPoolClient: this.service.userPoolClient });
    this.addEdge({
      handler: this.service.alias,
      userPool: this.service.userPool,
      userPoolClient: this.service.userPoolClient,
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
    // The smoke test knocks on the front door, so it exists once the edge does.
    this.deployment?.addSmokeTest({ apiUrl: this.edge.url, userPoolClient: target.userPoolClient });
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
    return this.edge;
  }

  /**
   * Deploys the API through CodeDeploy (traffic shift from config, migration gate on the
   * database instance, smoke test through the edge when it exists) and outputs what the
   * operator CLI looks up: `CodeDeployApplication`, `DeploymentGroupName`, `FunctionName`,
   * `AliasName`.
   */
  public addSafeDeployment(target: DeploymentTarget): SafeDeployment {
    const { config } = this;
    const { database, network } = this.stateful;
    this.deployment = new SafeDeployment(this, 'Deployment', {
      alias: target.alias,
      environmentName: config.name,
      trafficShift: {
        strategy: config.deployment.strategy,
        percentage: config.deployment.percentage,
        interval: Duration.minutes(config.deployment.intervalMinutes),
      },
      latencyThreshold: Duration.millis(config.slo.latencyThresholdMs),
      rollbackAlarms: target.rollbackAlarms,
      alarmTopic: this.alarmTopics.ticket,
      runbookUrl: `${config.observability.runbookBaseUrl.replace(/\/+$/, '')}/deployment-failed.md`,
      migrations: {
        secret: database.secret,
        endpoint: database.instance.instanceEndpoint,
        connections: database.instance,
        databaseName: database.databaseName,
        vpc: network.vpc,
        vpcSubnets: network.subnets(SubnetTier.APPLICATION),
      },
      smokeTest: this.edge && { apiUrl: this.edge.url, userPoolClient: target.userPoolClient },
    });
    const outputs: Record<string, [string, string]> = {
      CodeDeployApplication: [
        this.deployment.application.applicationName,
        'CodeDeploy application of the API deployments',
      ],
      DeploymentGroupName: [
        this.deployment.deploymentGroup.deploymentGroupName,
        'CodeDeploy deployment group that shifts the live alias',
      ],
      FunctionName: [target.alias.version.lambda.functionName, 'API function name'],
      AliasName: [target.alias.aliasName, 'Alias CodeDeploy shifts between versions'],
    };
    for (const [outputId, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, outputId, { value, description });
    }
    return this.deployment;
  }
}
