import { CfnOutput, Duration, Size } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AlarmTopics } from '../observability/alarm-topics';
import { Service } from '../service/service';
import type { StatefulStack } from './stateful-stack';
import { ShipshapeStack, type ShipshapeStackProps } from './shipshape-stack';

/** Props of {@link StatelessStack}. */
export interface StatelessStackProps extends ShipshapeStackProps {
  /** The stateful stack of the same environment, whose resources this stack uses. */
  readonly stateful: StatefulStack;
}

/**
 * Code and everything that can be replaced without losing data: the service, its edge,
 * deployments and alarms. Safe to destroy and recreate.
 */
export class StatelessStack extends ShipshapeStack {
  public readonly alarmTopics: AlarmTopics;
  public readonly service: Service;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    this.addStackDependency(props.stateful, 'uses the network and data tier');

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
  }
}
