import { CfnOutput } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Edge } from '../edge/edge';
import { AlarmTopics } from '../observability/alarm-topics';
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
  /** The front door (HTTP API, CloudFront, WAF); set by {@link addEdge}. */
  public edge?: Edge;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    // The edge's web ACL lives in a us-east-1 stack and is referenced from here.
    super(scope, id, { crossRegionReferences: true, ...props });
    this.addStackDependency(props.stateful, 'uses the network and data tier');

    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', { pageEmail: props.config.alarmEmail });
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
    return this.edge;
  }
}
