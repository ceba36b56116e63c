import { Stage, type StageProps, Tags } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import type { ServiceApplication } from '../service/application';
import { StatefulStack } from '../stacks/stateful-stack';
import { StatelessStack } from '../stacks/stateless-stack';

/** Props of {@link ShipshapeStage}. */
export interface ShipshapeStageProps extends StageProps {
  /** The validated configuration of this environment. */
  readonly config: EnvironmentConfig;
  /**
   * The service this environment runs.
   * @default - the sample API
   */
  readonly application?: ServiceApplication;
}

/**
 * One environment (staging or production): a stateful and a stateless stack built from its
 * config. Both environments run this same code; they differ only in config values.
 */
export class ShipshapeStage extends Stage {
  public readonly config: EnvironmentConfig;
  public readonly stateful: StatefulStack;
  public readonly stateless: StatelessStack;

  constructor(scope: Construct, id: string, props: ShipshapeStageProps) {
    super(scope, id, {
      ...props,
      env: props.env ?? { account: props.config.account, region: props.config.region },
    });
    const { config } = props;
    this.config = config;

    this.stateful = new StatefulStack(this, 'Stateful', {
      config,
      description: `Shipshape ${config.name}: network, database, cache and backups (keeps data)`,
    });
    this.stateless = new StatelessStack(this, 'Stateless', {
      config,
      stateful: this.stateful,
      application: props.application,
      description: `Shipshape ${config.name}: service, edge, deployment and alarms (no data)`,
    });

    Tags.of(this).add('Application', 'shipshape');
    Tags.of(this).add('Environment', config.name);
  }
}

/** The construct id of an environment's stage: `Staging`, `Production`. */
export function stageId(config: EnvironmentConfig): string {
  return config.name.charAt(0).toUpperCase() + config.name.slice(1);
}

/** Creates one stage per configuration, in the order given. */
export function createEnvironmentStages(
  scope: Construct,
  configs: readonly EnvironmentConfig[],
  application?: ServiceApplication,
): ShipshapeStage[] {
  return configs.map((config) => new ShipshapeStage(scope, stageId(config), { config, application }));
}
