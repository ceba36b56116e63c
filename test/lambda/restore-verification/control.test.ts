import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RDSServiceException,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  type ControlEnvironment,
  createHandler,
  type Dependencies,
} from '../../../lambda/restore-verification/control';
import { throwawayInstanceIdentifier } from '../../../lambda/shared/restore-verification';

const rds = mockClient(RDSClient);
const RUN = 'c0ffee00-1111-2222-3333-444455556666';
const ID = throwawayInstanceIdentifier('shipshape-rv-', RUN);
const NOW = new Date('2026-01-01T04:00:00.000Z');
const LATEST_RESTORABLE = new Date('2026-01-01T03:55:00.000Z');

const env: ControlEnvironment = {
  IDENTIFIER_PREFIX: 'shipshape-rv-',
  SOURCE_INSTANCE_IDENTIFIER: 'shipshape-staging-db',
  SUBNET_GROUP_NAME: 'restore-subnets',
  SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
  INSTANCE_CLASS: 'db.t4g.micro',
  RESTORE_TIMEOUT_SECONDS: 5400,
  ORPHAN_MAX_AGE_SECONDS: 10_800,
  ENVIRONMENT_NAME: 'staging',
  DATABASE_NAME: 'shipshape',
};

function rdsError(name: string, extra: Partial<RDSServiceException> = {}): RDSServiceException {
  return new RDSServiceException({ name, $fault: 'client', $metadata: {}, message: name, ...extra });
}

let emitted: string[];
let sleeps: number[];
function setup() {
  emitted = [];
  sleeps = [];
  const deps: Dependencies = {
    rds: new RDSClient({ region: 'eu-west-1' }),
    env,
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'Shipshape/RestoreVerification', serviceName: 'test' }),
    now: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  return createHandler(() => deps);
}

beforeEach(() => rds.reset());

const sourceDescribed = {
  DBInstances: [
    { DBInstanceIdentifier: env.SOURCE_INSTANCE_IDENTIFIER, LatestRestorableTime: LATEST_RESTORABLE },
  ],
};

describe('startRestore', () => {
  test('restores the latest restorable time into an isolated, tagged, IAM-auth throwaway instance', async () => {
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: env.SOURCE_INSTANCE_IDENTIFIER })
      .resolves(sourceDescribed);
    rds.on(RestoreDBInstanceToPointInTimeCommand).resolves({});
    const result = await setup()({ action: 'startRestore', executionName: RUN });
    expect(result).toEqual({
      instanceIdentifier: ID,
      restorePointTime: LATEST_RESTORABLE.toISOString(),
      requestedAt: NOW.toISOString(),
      alreadyExisted: false,
    });
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceToPointInTimeCommand, {
      SourceDBInstanceIdentifier: 'shipshape-staging-db',
      TargetDBInstanceIdentifier: ID,
      UseLatestRestorableTime: true,
      DBInstanceClass: 'db.t4g.micro',
      DBSubnetGroupName: 'restore-subnets',
      VpcSecurityGroupIds: ['sg-0123456789abcdef0'],
      MultiAZ: false,
      PubliclyAccessible: false,
      EnableIAMDatabaseAuthentication: true,
      DeletionProtection: false,
      BackupRetentionPeriod: 0,
      Tags: expect.arrayContaining([
        { Key: 'shipshape:purpose', Value: 'restore-verification' },
        { Key: 'shipshape:run-id', Value: RUN },
      ]),
    });
  });

  test('retries a throttled restore with backoff, then succeeds', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(sourceDescribed);
    rds
      .on(RestoreDBInstanceToPointInTimeCommand)
      .rejectsOnce(rdsError('Throttling'))
      .rejectsOnce(rdsError('ThrottlingException'))
      .resolves({});
    await setup()({ action: 'startRestore', executionName: RUN });
    expect(rds).toHaveReceivedCommandTimes(RestoreDBInstanceToPointInTimeCommand, 3);
    expect(sleeps).toHaveLength(2);
  });

  test('gives up on endless throttling with a RetryableError for the state machine to retry', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(sourceDescribed);
    rds.on(RestoreDBInstanceToPointInTimeCommand).rejects(rdsError('Throttling'));
    await expect(setup()({ action: 'startRestore', executionName: RUN })).rejects.toMatchObject({
      name: 'RetryableError',
    });
    expect(rds).toHaveReceivedCommandTimes(RestoreDBInstanceToPointInTimeCommand, 5);
  });

  test('a retried run whose instance already exists succeeds with the first attempt times', async () => {
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: env.SOURCE_INSTANCE_IDENTIFIER })
      .resolves(sourceDescribed);
    rds.on(RestoreDBInstanceToPointInTimeCommand).rejects(rdsError('DBInstanceAlreadyExistsFault'));
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: ID }).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: ID,
          DBInstanceStatus: 'creating',
          TagList: [
            { Key: 'shipshape:run-id', Value: RUN },
            { Key: 'shipshape:restore-point', Value: '2026-01-01T03:50:00.000Z' },
            { Key: 'shipshape:requested-at', Value: '2026-01-01T03:58:00.000Z' },
          ],
        },
      ],
    });
    const result = await setup()({ action: 'startRestore', executionName: RUN });
    expect(result).toEqual({
      instanceIdentifier: ID,
      restorePointTime: '2026-01-01T03:50:00.000Z',
      requestedAt: '2026-01-01T03:58:00.000Z',
      alreadyExisted: true,
    });
    expect(rds).toHaveReceivedCommandTimes(RestoreDBInstanceToPointInTimeCommand, 1);
  });

  test('fails when the existing instance belongs to another run', async () => {
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: env.SOURCE_INSTANCE_IDENTIFIER })
      .resolves(sourceDescribed);
    rds.on(RestoreDBInstanceToPointInTimeCommand).rejects(rdsError('DBInstanceAlreadyExistsFault'));
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: ID }).resolves({
      DBInstances: [{ DBInstanceIdentifier: ID, TagList: [{ Key: 'shipshape:run-id', Value: 'other' }] }],
    });
    await expect(setup()({ action: 'startRestore', executionName: RUN })).rejects.toMatchObject({
      name: 'FatalError',
      message: expect.stringContaining('belongs to another run'),
    });
  });

  test('fails when the source has no restorable time (backups off)', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [{ DBInstanceIdentifier: 'shipshape-staging-db' }] });
    await expect(setup()({ action: 'startRestore', executionName: RUN })).rejects.toThrow(
      /no latest restorable time/,
    );
  });
});

describe('describe', () => {
  const describeAs = (status: string, endpoint?: { Address: string; Port: number }) =>
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: ID }).resolves({
      DBInstances: [{ DBInstanceIdentifier: ID, DBInstanceStatus: status, Endpoint: endpoint }],
    });

  test('reports available with the endpoint to verify', async () => {
    describeAs('available', { Address: 'x.rds.amazonaws.com', Port: 5432 });
    const result = await setup()({
      action: 'describe',
      executionName: RUN,
      requestedAt: '2026-01-01T03:30:00.000Z',
    });
    expect(result).toMatchObject({
      state: 'available',
      host: 'x.rds.amazonaws.com',
      port: 5432,
      elapsedSeconds: 1800,
    });
  });

  test('reports pending while creating within the timeout', async () => {
    describeAs('creating');
    const result = await setup()({
      action: 'describe',
      executionName: RUN,
      requestedAt: '2026-01-01T03:30:00.000Z',
    });
    expect(result).toMatchObject({ state: 'pending', status: 'creating' });
  });

  test('reports timedOut once past RESTORE_TIMEOUT_SECONDS', async () => {
    describeAs('creating');
    const result = await setup()({
      action: 'describe',
      executionName: RUN,
      requestedAt: '2026-01-01T02:29:59.000Z',
    });
    expect(result).toMatchObject({ state: 'timedOut', elapsedSeconds: 5401 });
  });

  test('reports failed for a restore RDS gave up on', async () => {
    describeAs('incompatible-restore');
    const result = await setup()({
      action: 'describe',
      executionName: RUN,
      requestedAt: '2026-01-01T03:30:00.000Z',
    });
    expect(result).toMatchObject({ state: 'failed', status: 'incompatible-restore' });
  });

  test('retries a throttled describe', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .rejectsOnce(rdsError('RequestLimitExceeded'))
      .resolves({ DBInstances: [{ DBInstanceIdentifier: ID, DBInstanceStatus: 'modifying' }] });
    const result = await setup()({
      action: 'describe',
      executionName: RUN,
      requestedAt: '2026-01-01T03:30:00.000Z',
    });
    expect(result).toMatchObject({ state: 'pending' });
    expect(rds).toHaveReceivedCommandTimes(DescribeDBInstancesCommand, 2);
  });
});

describe('delete', () => {
  test('deletes without a final snapshot and drops automated backups', async () => {
    rds.on(DeleteDBInstanceCommand).resolves({});
    await expect(setup()({ action: 'delete', executionName: RUN })).resolves.toEqual({
      instanceIdentifier: ID,
      outcome: 'deleting',
    });
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: ID,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    });
  });

  test('treats an instance that never existed as deleted', async () => {
    rds.on(DeleteDBInstanceCommand).rejects(rdsError('DBInstanceNotFoundFault'));
    await expect(setup()({ action: 'delete', executionName: RUN })).resolves.toMatchObject({
      outcome: 'not-found',
    });
  });

  test('treats an instance already being deleted as deleted', async () => {
    rds.on(DeleteDBInstanceCommand).rejects(rdsError('InvalidDBInstanceStateFault'));
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [{ DBInstanceIdentifier: ID, DBInstanceStatus: 'deleting' }] });
    await expect(setup()({ action: 'delete', executionName: RUN })).resolves.toMatchObject({
      outcome: 'already-deleting',
    });
  });

  test('asks the state machine to retry while the instance is still creating', async () => {
    rds.on(DeleteDBInstanceCommand).rejects(rdsError('InvalidDBInstanceStateFault'));
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [{ DBInstanceIdentifier: ID, DBInstanceStatus: 'creating' }] });
    await expect(setup()({ action: 'delete', executionName: RUN })).rejects.toMatchObject({
      name: 'InstanceNotDeletableYet',
    });
  });

  test('retries a throttled delete', async () => {
    rds.on(DeleteDBInstanceCommand).rejectsOnce(rdsError('Throttling')).resolves({});
    await setup()({ action: 'delete', executionName: RUN });
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 2);
  });
});

describe('janitor', () => {
  const old = new Date(NOW.getTime() - 4 * 3600_000);
  const young = new Date(NOW.getTime() - 30 * 60_000);
  const tagged = [{ Key: 'shipshape:purpose', Value: 'restore-verification' }];

  test('deletes only tagged throwaway instances older than the limit', async () => {
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'shipshape-rv-old-run-1',
          InstanceCreateTime: old,
          TagList: tagged,
          DBInstanceStatus: 'available',
        },
        {
          DBInstanceIdentifier: 'shipshape-rv-young-run',
          InstanceCreateTime: young,
          TagList: tagged,
          DBInstanceStatus: 'available',
        },
        {
          DBInstanceIdentifier: 'shipshape-rv-untagged',
          InstanceCreateTime: old,
          TagList: [],
          DBInstanceStatus: 'available',
        },
        {
          DBInstanceIdentifier: 'shipshape-staging-db',
          InstanceCreateTime: old,
          TagList: tagged,
          DBInstanceStatus: 'available',
        },
        {
          DBInstanceIdentifier: 'shipshape-rv-going',
          InstanceCreateTime: old,
          TagList: tagged,
          DBInstanceStatus: 'deleting',
        },
      ],
    });
    rds.on(DeleteDBInstanceCommand).resolves({});
    await expect(setup()({ action: 'janitor', executionName: RUN })).resolves.toEqual({
      deleted: ['shipshape-rv-old-run-1'],
    });
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: 'shipshape-rv-old-run-1',
      SkipFinalSnapshot: true,
    });
  });
});

describe('report', () => {
  beforeEach(() => {
    // Powertools writes embedded-metric-format lines to stdout; capture them.
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      const text = String(chunk);
      if (text.includes('"_aws"')) emitted.push(text);
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());
  const metricLines = () => emitted.map((l) => JSON.parse(l) as Record<string, unknown>);

  test('publishes Success=1, RtoSeconds and RpoSeconds with exactly the Environment and Database dimensions', async () => {
    await setup()({ action: 'report', executionName: RUN, success: true, rtoSeconds: 1500, rpoSeconds: 420 });
    const [line] = metricLines();
    expect(line).toMatchObject({
      Success: 1,
      RtoSeconds: 1500,
      RpoSeconds: 420,
      Environment: 'staging',
      Database: 'shipshape',
    });
    const aws = line._aws as { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }> };
    expect(aws.CloudWatchMetrics[0].Namespace).toBe('Shipshape/RestoreVerification');
    expect(aws.CloudWatchMetrics[0].Dimensions).toEqual([['Environment', 'Database']]);
  });

  test('publishes Success=0 and no RTO/RPO for a failed run', async () => {
    await setup()({ action: 'report', executionName: RUN, success: false, reason: 'boom' });
    const [line] = metricLines();
    expect(line).toMatchObject({ Success: 0 });
    expect(line).not.toHaveProperty('RtoSeconds');
    expect(line).not.toHaveProperty('RpoSeconds');
  });
});

test('fails with a UserError on an event it does not understand', async () => {
  await expect(setup()({ action: 'explode', executionName: RUN })).rejects.toMatchObject({
    name: 'UserError',
  });
});
