import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { SubnetTier } from '../network/network';
import { AlarmTopics } from '../observability/alarm-topics';
import { RestoreVerification } from '../restore-verification/restore-verification';
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
  public readonly restoreVerification: RestoreVerification;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
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
  }
}
