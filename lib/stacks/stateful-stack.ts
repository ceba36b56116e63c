import { CfnOutput, Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Cache } from '../cache/cache';
import { Database } from '../database/database';
import { Network } from '../network/network';
import { ShipshapeStack, type ShipshapeStackProps } from './shipshape-stack';

/**
 * Everything that holds data or that data depends on: the network, the database and the cache.
 * Kept apart from the stateless stack so a change to code can never replace a resource that
 * holds data.
 */
export class StatefulStack extends ShipshapeStack {
  public readonly network: Network;
  public readonly database: Database;
  public readonly cache: Cache;

  constructor(scope: Construct, id: string, props: ShipshapeStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.network = new Network(this, 'Network', {
      cidr: config.network.cidr,
      natGateways: config.network.natGateways,
      flowLogRetention: config.network.flowLogRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const db = config.database;
    this.database = new Database(this, 'Database', {
      vpc: this.network.vpc,
      instanceIdentifier: `shipshape-${config.name}`,
      instanceType: new ec2.InstanceType(db.instanceClass),
      allocatedStorage: Size.gibibytes(db.allocatedStorageGiB),
      maxAllocatedStorage: Size.gibibytes(db.maxAllocatedStorageGiB),
      multiAz: db.multiAz,
      deletionProtection: db.deletionProtection,
      backupRetention: Duration.days(db.backupRetentionDays),
      secretRotation: Duration.days(db.secretRotationDays),
      logRetention: db.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      proxy: {
        maxConnectionsPercent: db.proxy.maxConnectionsPercent,
        maxIdleConnectionsPercent: db.proxy.maxIdleConnectionsPercent,
        borrowTimeout: Duration.seconds(db.proxy.borrowTimeoutSeconds),
      },
    });

    this.cache = new Cache(this, 'Cache', {
      vpc: this.network.vpc,
      nodeType: config.cache.nodeType,
      replicas: config.cache.replicas,
      snapshotRetentionDays: config.cache.snapshotRetentionDays,
      // The data tier shares one log retention setting.
      logRetention: db.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });

    const outputs: Record<string, [string, string]> = {
      DatabaseProxyEndpoint: [
        this.database.proxy.endpoint,
        'RDS Proxy endpoint clients connect to (IAM auth, TLS)',
      ],
      DatabaseInstanceIdentifier: [
        this.database.instance.instanceIdentifier,
        'RDS instance identifier (restores, runbooks)',
      ],
      DatabaseSecretArn: [this.database.secret.secretArn, 'Secrets Manager ARN of the master credentials'],
      DatabaseName: [this.database.databaseName, 'Name of the application database'],
      CacheEndpoint: [this.cache.primaryEndpoint, 'Valkey primary endpoint (TLS, port 6379)'],
      CacheAuthTokenSecretArn: [
        this.cache.authToken.secretArn,
        'Secrets Manager ARN of the Valkey AUTH token',
      ],
    };
    for (const [outputId, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, outputId, { value, description });
    }
  }
}
