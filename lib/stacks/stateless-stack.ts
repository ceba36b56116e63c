import { Construct } from 'constructs';
import { AlarmTopics } from '../observability/alarm-topics';
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

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    this.addStackDependency(props.stateful, 'uses the network and data tier');

    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', { pageEmail: props.config.alarmEmail });
  }
}
