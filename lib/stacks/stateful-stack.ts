import { RemovalPolicy } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Network } from '../network/network';
import { ShipshapeStack, type ShipshapeStackProps } from './shipshape-stack';

/**
 * Everything that holds data or that data depends on: the network, and (from the data tier on)
 * the database, cache and backups. Kept apart from the stateless stack so a change to code can
 * never replace a resource that holds data.
 */
export class StatefulStack extends ShipshapeStack {
  public readonly network: Network;

  constructor(scope: Construct, id: string, props: ShipshapeStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.network = new Network(this, 'Network', {
      cidr: config.network.cidr,
      natGateways: config.network.natGateways,
      flowLogRetention: config.network.flowLogRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
