import {
  ConfigValidationError,
  ENVIRONMENT_NAMES,
  loadEnvironmentConfig,
  RAW_CONFIGS,
  validateEnvironmentConfig,
} from '../../lib/config';

type Mutable = Record<string, unknown>;

/** A deep copy of a checked-in config with one change applied. */
function variant(env: 'staging' | 'production', change: (c: Mutable) => void): unknown {
  const copy = structuredClone(RAW_CONFIGS[env]) as Mutable;
  change(copy);
  return copy;
}

function messageFor(env: string, raw: unknown): string {
  try {
    validateEnvironmentConfig(env, raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigValidationError);
    return (e as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

const db = (c: Mutable) => c.database as Mutable;

describe('environment config', () => {
  test.each(ENVIRONMENT_NAMES)('the checked-in %s config is valid', (name) => {
    const config = loadEnvironmentConfig(name);
    expect(config.name).toBe(name);
    expect(config.availabilityZones.every((az) => az.startsWith(config.region))).toBe(true);
  });

  test('production keeps more backups and more NAT gateways than staging', () => {
    const staging = loadEnvironmentConfig('staging');
    const production = loadEnvironmentConfig('production');
    expect(production.database.backupRetentionDays).toBe(35);
    expect(staging.database.backupRetentionDays).toBe(7);
    expect(production.network.natGateways).toBeGreaterThan(staging.network.natGateways);
  });

  test('fails for an unknown environment', () => {
    expect(() => loadEnvironmentConfig('qa')).toThrow(
      "Unknown environment 'qa': expected one of staging, production",
    );
  });

  const invalid: Array<[string, 'staging' | 'production', (c: Mutable) => void, string]> = [
    [
      'account is not 12 digits',
      'staging',
      (c) => (c.account = '1234'),
      'account: got "1234"; must be a 12-digit AWS account id',
    ],
    [
      'region is malformed',
      'staging',
      (c) => (c.region = 'Europe'),
      'region: got "Europe"; must be an AWS region code',
    ],
    [
      'an AZ is outside the region',
      'staging',
      (c) => (c.availabilityZones = ['eu-west-1a', 'us-east-1b']),
      'availabilityZones.1: got "us-east-1b"; must be an availability zone of eu-west-1, such as eu-west-1a',
    ],
    [
      'only one AZ',
      'staging',
      (c) => (c.availabilityZones = ['eu-west-1a']),
      'availabilityZones: got ["eu-west-1a"]; must list at least 2 availability zones',
    ],
    [
      'more NAT gateways than AZs',
      'staging',
      (c) => ((c.network as Mutable).natGateways = 3),
      'network.natGateways: got 3; must be at most the number of availability zones (2)',
    ],
    [
      'backup retention above the RDS maximum',
      'production',
      (c) => (db(c).backupRetentionDays = 40),
      'database.backupRetentionDays: got 40; must be at most 35',
    ],
    [
      'backup retention not an integer',
      'staging',
      (c) => (db(c).backupRetentionDays = 7.5),
      'database.backupRetentionDays: got 7.5; must be an integer',
    ],
    [
      'storage ceiling below the allocation',
      'staging',
      (c) => (db(c).maxAllocatedStorageGiB = 10),
      'database.maxAllocatedStorageGiB: got 10; must be at least 20',
    ],
    [
      'unknown instance class',
      'staging',
      (c) => (db(c).instanceClass = 'db.huge'),
      'database.instanceClass: got "db.huge"; must be a Graviton/Intel RDS class',
    ],
    [
      'production without Multi-AZ',
      'production',
      (c) => (db(c).multiAz = false),
      'database.multiAz: got false; must be true in production',
    ],
    [
      'production without deletion protection',
      'production',
      (c) => (db(c).deletionProtection = false),
      'database.deletionProtection: got false; must be true in production',
    ],
    [
      'an SLO of 100%',
      'staging',
      (c) => ((c.slo as Mutable).availabilityTargetPercent = 100),
      'slo.availabilityTargetPercent: got 100; must be below 100: a 100% target leaves no error budget',
    ],
    [
      'an SLO whose fast burn would need more than 100% errors',
      'staging',
      (c) => ((c.slo as Mutable).availabilityTargetPercent = 90),
      'slo.availabilityTargetPercent: got 90; must be at least 93.06',
    ],
    [
      'a malformed schedule',
      'staging',
      (c) => ((c.restoreVerification as Mutable).schedule = 'daily'),
      'restoreVerification.schedule: got "daily"; must be an EventBridge Scheduler expression',
    ],
    [
      'a log retention CloudWatch does not offer',
      'staging',
      (c) => ((c.network as Mutable).flowLogRetentionDays = 45),
      'network.flowLogRetentionDays: got 45; must be one of the CloudWatch Logs retention periods',
    ],
    [
      'a bad alarm e-mail',
      'staging',
      (c) => (c.alarmEmail = 'oncall'),
      'alarmEmail: got "oncall"; must be an e-mail address',
    ],
    [
      'a certificate outside us-east-1',
      'staging',
      (c) =>
        (c.domain = {
          domainName: 'api.example.com',
          certificateArn:
            'arn:aws:acm:eu-west-1:111111111111:certificate/12345678-1234-1234-1234-123456789012',
        }),
      'domain.certificateArn: got "arn:aws:acm:eu-west-1:',
    ],
    [
      'a write rate limit looser than the general one',
      'production',
      (c) => ((c.edge as Mutable).perIpWriteRequestsPer5Min = 10_000),
      'edge.perIpWriteRequestsPer5Min: got 10000; must be at most perIpRequestsPer5Min (5000)',
    ],
    [
      'an unknown deployment strategy',
      'production',
      (c) => ((c.deployment as Mutable).strategy = 'yolo'),
      'deployment.strategy: got "yolo"; must be one of "canary", "linear", "allAtOnce"',
    ],
    [
      'a plain-http runbook URL',
      'staging',
      (c) => ((c.observability as Mutable).runbookBaseUrl = 'http://wiki.example.com/runbooks'),
      'observability.runbookBaseUrl: got "http://wiki.example.com/runbooks"; must be an https:// URL',
    ],
    [
      'a drill age CloudWatch cannot look back over',
      'staging',
      (c) => ((c.observability as Mutable).rollbackDrillMaxAgeDays = 14),
      'observability.rollbackDrillMaxAgeDays: got 14; must be at most 7: a CloudWatch alarm on daily datapoints looks back 7 days at most',
    ],
    [
      'a misspelt field',
      'staging',
      (c) => (c.alarmEmial = 'x@example.com'),
      'alarmEmial: unknown field (check the spelling)',
    ],
    [
      'a missing section',
      'staging',
      (c) => delete c.cache,
      'cache: got nothing (the field is missing); must be a object',
    ],
  ];

  test.each(invalid)('fails when %s', (_label, env, change, expected) => {
    const message = messageFor(env, variant(env, change));
    expect(message).toContain(`Invalid configuration for environment '${env}'`);
    expect(message).toContain(expected);
  });

  test('lists every problem in one message, not only the first', () => {
    const message = messageFor(
      'production',
      variant('production', (c) => {
        c.account = 'abc';
        db(c).backupRetentionDays = 0;
        c.alarmEmail = 'nobody';
      }),
    );
    expect(message).toContain('(4 problems)');
    expect(message).toContain('account: got "abc"');
    expect(message).toContain('database.backupRetentionDays: got 0; must be at least 1');
    expect(message).toContain('alarmEmail: got "nobody"');
    expect(message).toContain('database.backupRetentionDays: got 0; must be at least 7 in production');
  });

  test('accepts an optional custom domain with a us-east-1 certificate', () => {
    const config = validateEnvironmentConfig(
      'staging',
      variant('staging', (c) => {
        c.domain = {
          domainName: 'api.staging.example.com',
          certificateArn:
            'arn:aws:acm:us-east-1:111111111111:certificate/12345678-1234-1234-1234-123456789012',
        };
      }),
    );
    expect(config.domain?.domainName).toBe('api.staging.example.com');
  });
});
