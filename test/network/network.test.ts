import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Network } from '../../lib/network/network';
import { newTestApp, synthEnvironment } from '../helpers/synth';

describe.each([
  ['staging', 2, 1],
  ['production', 3, 3],
] as const)('network in %s', (env, azs, nats) => {
  let template: Template;
  beforeAll(() => {
    template = synthEnvironment(env).stateful;
  });

  test(`has public, application and data subnets in each of its ${azs} AZs`, () => {
    template.resourceCountIs('AWS::EC2::Subnet', azs * 3);
    for (const tier of ['Public', 'Application', 'Data']) {
      const subnets = template.findResources('AWS::EC2::Subnet', {
        Properties: { Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-name', Value: tier }]) },
      });
      expect(Object.keys(subnets)).toHaveLength(azs);
    }
  });

  test('public subnets do not hand out public IPs', () => {
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
  });

  test(`runs ${nats} NAT gateway(s) as configured`, () => {
    template.resourceCountIs('AWS::EC2::NatGateway', nats);
  });

  test('data subnets have no route to the internet', () => {
    const dataRouteTables = template.findResources('AWS::EC2::RouteTable', {
      Properties: { Tags: Match.arrayWith([{ Key: 'Name', Value: Match.stringLikeRegexp('/DataSubnet') }]) },
    });
    expect(Object.keys(dataRouteTables)).toHaveLength(azs);
    const routes = template.findResources('AWS::EC2::Route');
    for (const route of Object.values(routes)) {
      const tableRef = (route.Properties as { RouteTableId: { Ref: string } }).RouteTableId.Ref;
      expect(Object.keys(dataRouteTables)).not.toContain(tableRef);
    }
  });

  test('logs all traffic to a retained CloudWatch log group', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: env === 'production' ? 365 : 30 },
      DeletionPolicy: 'Retain',
    });
  });

  test('reaches S3 through a gateway endpoint and Secrets Manager through an interface endpoint', () => {
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith(['.s3'])]) }),
    });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: 'com.amazonaws.eu-west-1.secretsmanager',
      PrivateDnsEnabled: true,
    });
  });

  test('interface endpoints admit only HTTPS from inside the VPC', () => {
    const cidr = env === 'production' ? '10.20.0.0/16' : '10.10.0.0/16';
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('SecretsmanagerEndpoint'),
      SecurityGroupIngress: [
        Match.objectLike({ CidrIp: cidr, FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
      ],
    });
  });

  test('strips the rules from the default security group', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });
});

describe('Network construct', () => {
  function stackWithAzs(azs: string[]): Stack {
    const stack = new Stack(newTestApp(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
    Object.defineProperty(stack, 'availabilityZones', { get: () => azs });
    return stack;
  }

  test('fails when asked for more NAT gateways than AZs', () => {
    expect(
      () => new Network(stackWithAzs(['eu-west-1a', 'eu-west-1b']), 'Network', { natGateways: 3 }),
    ).toThrow("Network 'Test/Network': natGateways must be between 1 and the number of AZs (2), got 3");
  });

  test('places extra interface endpoints in the data tier', () => {
    const stack = stackWithAzs(['eu-west-1a', 'eu-west-1b']);
    new Network(stack, 'Network', {
      interfaceEndpoints: [
        ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        ec2.InterfaceVpcEndpointAwsService.KMS,
      ],
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 3);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: 'com.amazonaws.eu-west-1.kms',
      SubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('NetworkDataSubnet1') }]),
    });
  });
});
