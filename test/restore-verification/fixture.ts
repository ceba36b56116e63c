import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Network, SubnetTier } from '../../lib/network/network';
import {
  RestoreVerification,
  type RestoreVerificationProps,
} from '../../lib/restore-verification/restore-verification';
import { newTestApp } from '../helpers/synth';

/** A stack with a network, a PostgreSQL instance behind an IAM-auth proxy, and a topic. */
export function sourceStack() {
  const stack = new Stack(newTestApp(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  Object.defineProperty(stack, 'availabilityZones', { get: () => ['eu-west-1a', 'eu-west-1b'] });
  const network = new Network(stack, 'Network');
  const instance = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
    vpc: network.vpc,
    vpcSubnets: network.subnets(SubnetTier.DATA),
    iamAuthentication: true,
  });
  const proxy = instance.addProxy('Proxy', {
    vpc: network.vpc,
    vpcSubnets: network.subnets(SubnetTier.DATA),
    secrets: [instance.secret!],
    iamAuth: true,
  });
  const topic = new sns.Topic(stack, 'Alarms');
  return { stack, network, instance, proxy, topic };
}

/** Props for a RestoreVerification on {@link sourceStack}, with overrides. */
export function verificationProps(
  src: ReturnType<typeof sourceStack>,
  overrides: Partial<RestoreVerificationProps> = {},
): RestoreVerificationProps {
  return {
    instance: src.instance,
    proxy: src.proxy,
    databaseName: 'shipshape',
    vpc: src.network.vpc,
    vpcSubnets: src.network.subnets(SubnetTier.DATA),
    runbookUrl: 'https://example.com/runbooks/restore-verification-failed.md',
    alarmTopic: src.topic,
    environmentName: 'staging',
    restoreTimeout: Duration.minutes(90),
    criticalTables: [
      { name: 'notes', minRows: 0 },
      { name: 'accounts', minRows: 0 },
      { name: 'heartbeat', minRows: 1 },
    ],
    ...overrides,
  };
}

export function buildVerification(overrides: Partial<RestoreVerificationProps> = {}) {
  const src = sourceStack();
  const verification = new RestoreVerification(
    src.stack,
    'RestoreVerification',
    verificationProps(src, overrides),
  );
  return { ...src, verification };
}

export { ec2 };
