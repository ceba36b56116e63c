import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BurnRateSlo, RestoreVerification, SafeDeployment, SloIndicator } from '@shipshape/cdk';

const app = new App();
const stack = new Stack(app, 'Platform');

// What the team already has: a VPC, PostgreSQL behind an RDS Proxy, a Lambda function with an alias.
const vpc = new ec2.Vpc(stack, 'Vpc', {
  maxAzs: 2,
  subnetConfiguration: [
    { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
    { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  ],
});
const database = new rds.DatabaseInstance(stack, 'Database', {
  engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  iamAuthentication: true,
  storageEncrypted: true,
});
const proxy = database.addProxy('Proxy', { secrets: [database.secret!], vpc, iamAuth: true });
const api = new lambda.Function(stack, 'Api', {
  runtime: lambda.Runtime.NODEJS_24_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200 });'),
});
const live = new lambda.Alias(stack, 'Live', { aliasName: 'live', version: api.currentVersion });
const pages = new sns.Topic(stack, 'Pages');

// Shipshape, one construct at a time.
new RestoreVerification(stack, 'RestoreVerification', {
  instance: database,
  proxy,
  databaseName: 'app',
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  runbookUrl: 'https://runbooks.example.com/restore-verification',
  alarmTopic: pages,
});
new SafeDeployment(stack, 'Deployment', { alias: live, alarmTopic: pages });
new BurnRateSlo(stack, 'Availability', {
  sloName: 'Availability',
  objective: '99.9% of invocations succeed',
  indicator: SloIndicator.ratio(live.metricErrors(), live.metricInvocations()),
  targetPercent: 99.9,
  pageTopic: pages,
  ticketTopic: pages,
  runbookUrl: 'https://runbooks.example.com/availability',
});
