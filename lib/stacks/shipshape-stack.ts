import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';

/** Props of every Shipshape stack. */
export interface ShipshapeStackProps extends StackProps {
  /** The validated configuration of the environment this stack belongs to. */
  readonly config: EnvironmentConfig;
}

/**
 * Base of the stacks of an environment: pins account and region from config, turns on
 * termination protection where the config asks for it, and answers `availabilityZones` from
 * config so that synth never looks them up (a lookup needs credentials and writes
 * `dummy1a`-style placeholders when it has none).
 */
export class ShipshapeStack extends Stack {
  public readonly config: EnvironmentConfig;

  constructor(scope: Construct, id: string, props: ShipshapeStackProps) {
    super(scope, id, {
      terminationProtection: props.config.terminationProtection,
      ...props,
      env: props.env ?? { account: props.config.account, region: props.config.region },
    });
    this.config = props.config;

    Validations.of(this).acknowledge({
      id: 'CloudFormation-Validate::W3010',
      reason:
        'AZs are pinned per environment in lib/config (validated to belong to the region) so synth needs no credentials or context lookups.',
    });
  }

  public override get availabilityZones(): string[] {
    return [...this.config.availabilityZones];
  }
}
