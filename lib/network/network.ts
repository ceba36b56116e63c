import { RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeCdkProviderFunctions } from '../policy/cdk-provider-acknowledgements';
import { guardRuleId } from '../policy/readiness-rules';

/** Names of the subnet tiers, used to select them from other constructs. */
export const SubnetTier = {
  /** Load balancers and NAT gateways. */
  PUBLIC: 'Public',
  /** Lambdas and anything that calls the internet through NAT. */
  APPLICATION: 'Application',
  /** Databases and caches: no route to or from the internet. */
  DATA: 'Data',
} as const;

/** Reusable knobs of {@link Network}. */
export interface NetworkOptions {
  /**
   * IPv4 range of the VPC.
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;

  /**
   * NAT gateways for the application tier. One per AZ survives an AZ outage; one is cheaper.
   * @default 1
   */
  readonly natGateways?: number;

  /**
   * How long VPC flow logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly flowLogRetention?: logs.RetentionDays;

  /**
   * Interface endpoints placed in the data tier, for AWS APIs that code without internet access
   * must reach (the secret-rotation function calls Secrets Manager from the data tier).
   * @default - Secrets Manager
   */
  readonly interfaceEndpoints?: ec2.InterfaceVpcEndpointAwsService[];

  /**
   * What happens to the flow-log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Props of {@link Network}. */
export interface NetworkProps extends NetworkOptions {}

/**
 * A three-tier VPC: public, private-with-egress ("application") and isolated ("data") subnets in
 * every availability zone of the stack, an S3 gateway endpoint, interface endpoints for the data
 * tier, and flow logs of all traffic to CloudWatch Logs.
 *
 * The AZs come from the stack (`Stack.availabilityZones`), so a stack that fixes them synthesizes
 * without credentials or context lookups.
 */
export class Network extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.Vpc;
  /** Log group receiving the VPC flow logs. */
  public readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);

    const natGateways = props.natGateways ?? 1;
    const azCount = Stack.of(this).availabilityZones.length;
    if (!Token.isUnresolved(natGateways) && (natGateways < 1 || natGateways > azCount)) {
      throw new Error(
        `Network '${this.node.path}': natGateways must be between 1 and the number of AZs (${azCount}), got ${natGateways}`,
      );
    }

    const cidr = props.cidr ?? '10.0.0.0/16';
    this.vpc = new ec2.Vpc(this, 'Resource', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      maxAzs: azCount,
      natGateways,
      subnetConfiguration: [
        {
          name: SubnetTier.PUBLIC,
          subnetType: ec2.SubnetType.PUBLIC,
          cidrMask: 24,
          mapPublicIpOnLaunch: false,
        },
        { name: SubnetTier.APPLICATION, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: SubnetTier.DATA, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      restrictDefaultSecurityGroup: true,
    });

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    this.acknowledgeFindings(props.flowLogRetention ?? logs.RetentionDays.ONE_YEAR);

    const endpoints = props.interfaceEndpoints ?? [ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER];
    for (const service of endpoints) {
      const endpoint = this.vpc.addInterfaceEndpoint(endpointId(service), {
        service,
        subnets: { subnetGroupName: SubnetTier.DATA },
        privateDnsEnabled: true,
        open: false,
      });
      // HTTPS from inside the VPC only. The literal CIDR (not the VPC's CidrBlock attribute)
      // keeps the rule checkable at synth time.
      endpoint.connections.allowFrom(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from inside the VPC');
    }
  }

  private acknowledgeFindings(flowLogRetentionDays: number): void {
    for (const subnet of this.vpc.publicSubnets) {
      Validations.of(subnet).acknowledge({
        id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW',
        reason:
          'Public subnets exist only for the NAT gateways, which need a default route to the internet gateway; nothing else is placed there and they map no public IPs.',
      });
    }
    Validations.of(this.flowLogGroup).acknowledge({
      id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted',
      reason:
        'VPC flow logs hold connection metadata (addresses, ports, bytes), no payloads; CloudWatch Logs encrypts them at rest with service keys.',
    });
    Validations.of(this.flowLogGroup).acknowledge({
      id: guardRuleId('cloudwatch_log_group_encrypted_check'),
      reason:
        'VPC flow logs hold connection metadata (addresses, ports, bytes), no payloads; CloudWatch Logs encrypts them at rest with service keys.',
    });
    if (flowLogRetentionDays < 365) {
      Validations.of(this.flowLogGroup).acknowledge({
        id: guardRuleId('cloudwatch_log_group_retention_period_check'),
        reason: `Flow logs are kept ${flowLogRetentionDays} days by configuration in this (non-production) environment; production keeps them a year.`,
      });
    }
    // The stack-wide provider behind restrictDefaultSecurityGroup (added lazily by CDK).
    acknowledgeCdkProviderFunctions(Stack.of(this));
    Validations.of(this.vpc).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason:
        "The flow log role's DefaultPolicy is generated by CDK with only the log-delivery actions on this VPC's flow log group.",
    });
  }

  /** Subnets of one tier. */
  public subnets(tier: (typeof SubnetTier)[keyof typeof SubnetTier]): ec2.SubnetSelection {
    return { subnetGroupName: tier };
  }
}

function endpointId(service: ec2.InterfaceVpcEndpointAwsService): string {
  const short = service.shortName
    .split(/[^a-z0-9]+/i)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  return `${short}Endpoint`;
}
