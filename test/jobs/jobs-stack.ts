import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { EnvironmentConfig } from '../../lib/config';
import { BackgroundJobs, type BackgroundJobsOptions } from '../../lib/jobs/background-jobs';
import { newTestApp } from '../helpers/synth';

/** A stack with the data tier the jobs need (VPC, PostgreSQL, IAM-auth proxy) and the jobs. */
export interface JobsStack {
  readonly stack: Stack;
  readonly jobs: BackgroundJobs;
  readonly topic: sns.Topic;
}

/**
 * Builds `BackgroundJobs` the way an environment does, from its config, next to a stand-in
 * database and proxy (the real ones belong to the database construct). `nag` attaches the
 * AwsSolutions pack so the jobs' findings can be read from the validation report.
 */
export function jobsStack(
  config: EnvironmentConfig,
  options: { nag?: boolean; overrides?: BackgroundJobsOptions } = {},
): JobsStack {
  const app = newTestApp();
  const stack = new Stack(app, 'Jobs', { env: { account: config.account, region: config.region } });
  Object.defineProperty(stack, 'availabilityZones', { get: () => [...config.availabilityZones] });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: config.availabilityZones.length,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'Application', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'Data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  const instance = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    iamAuthentication: true,
  });
  const proxy = instance.addProxy('Proxy', {
    vpc,
    secrets: [instance.secret!],
    iamAuth: true,
    requireTLS: true,
    defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH,
  });
  const topic = new sns.Topic(stack, 'Alarms');
  // The stand-ins are not under test (the database and alarm-topic constructs are, in their own
  // tests); only the jobs' own findings should be left.
  for (const [scope, rules] of [
    [vpc, ['AwsSolutions-VPC7']],
    [
      instance,
      [
        'AwsSolutions-SMG4',
        'AwsSolutions-RDS2',
        'AwsSolutions-RDS3',
        'AwsSolutions-RDS10',
        'AwsSolutions-RDS11',
      ],
    ],
    [topic, ['AwsSolutions-SNS3']],
  ] as const) {
    for (const id of rules)
      Validations.of(scope).acknowledge({ id, reason: 'test stand-in for another construct' });
  }
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const jobs = new BackgroundJobs(stack, 'Jobs', {
    vpc,
    database: {
      proxy,
      databaseName: 'shipshape',
      port: 5432,
      // What the Database construct's grantConnect does for the client side.
      grantConnect: (grantee, dbUser) => {
        grantee.connections.allowTo(proxy, ec2.Port.tcp(5432), 'PostgreSQL to the proxy');
        return proxy.grantConnect(grantee, dbUser);
      },
    },
    maxReceiveCount: config.jobs.maxReceiveCount,
    worker: { maxConcurrency: config.jobs.maxConcurrency },
    maxMessageAge: Duration.minutes(config.jobs.maxMessageAgeMinutes),
    runbookBaseUrl: config.observability.runbookBaseUrl,
    alarmTopic: topic,
    ...options.overrides,
  });
  return { stack, jobs, topic };
}
