import { z } from 'zod';

/** The environments Shipshape deploys, in promotion order. */
export const ENVIRONMENT_NAMES = ['staging', 'production'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/;
const DB_INSTANCE_CLASS = /^(t4g|t3|m6g|m7g|m6i|m7i|r6g|r7g|r6i|r7i)\.(micro|small|medium|large|\d*xlarge)$/;
const CACHE_NODE_TYPE = /^cache\.(t4g|t3|m6g|m7g|r6g|r7g)\.(micro|small|medium|large|\d*xlarge)$/;
const SCHEDULE = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/;

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * The fastest burn rate we page on (Google SRE workbook: 2% of a 30-day budget in one hour).
 * A target whose error budget times this rate exceeds 100% errors could never fire.
 */
export const FAST_BURN_RATE = 14.4;

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const logRetentionDays = z.number().refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), {
  message: `must be one of the CloudWatch Logs retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
});

const networkSchema = z.strictObject({
  /** IPv4 range of the VPC, /16 to /20. */
  cidr: z
    .string()
    .regex(CIDR, 'must be an IPv4 CIDR block such as 10.0.0.0/16')
    .refine((v) => {
      const m = CIDR.exec(v);
      return !m || (m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) >= 16 && Number(m[5]) <= 20);
    }, 'must have octets 0-255 and a prefix length between /16 and /20'),
  /** NAT gateways for the private-with-egress tier: 1 is cheaper, one per AZ survives an AZ outage. */
  natGateways: int(1, 3),
  flowLogRetentionDays: logRetentionDays,
});

const databaseSchema = z.strictObject({
  /** RDS instance class without the `db.` prefix, e.g. `t4g.medium`. */
  instanceClass: z
    .string()
    .regex(DB_INSTANCE_CLASS, 'must be a Graviton/Intel RDS class such as t4g.medium or r7g.large'),
  allocatedStorageGiB: int(20, 65_536),
  /** Upper bound for storage autoscaling. */
  maxAllocatedStorageGiB: int(20, 65_536),
  multiAz: z.boolean(),
  deletionProtection: z.boolean(),
  /** Automated backups and point-in-time recovery window. RDS allows 1-35 days. */
  backupRetentionDays: int(1, 35),
  /** How often Secrets Manager rotates the master password. */
  secretRotationDays: int(1, 365),
  logRetentionDays,
  proxy: z.strictObject({
    /** Share of the database's max_connections the proxy may open. */
    maxConnectionsPercent: int(1, 100),
    maxIdleConnectionsPercent: int(0, 100),
    /** How long a client waits for a pooled connection before an error. */
    borrowTimeoutSeconds: int(1, 300),
  }),
});

const cacheSchema = z.strictObject({
  nodeType: z.string().regex(CACHE_NODE_TYPE, 'must be an ElastiCache node type such as cache.t4g.micro'),
  /** Read replicas per shard; at least 1 enables Multi-AZ automatic failover. */
  replicas: int(0, 5),
  snapshotRetentionDays: int(0, 35),
});

const restoreVerificationSchema = z.strictObject({
  /** EventBridge Scheduler expression, e.g. `cron(0 4 * * ? *)` or `rate(1 day)`. */
  schedule: z
    .string()
    .regex(SCHEDULE, 'must be an EventBridge Scheduler expression: rate(1 day) or cron(0 4 * * ? *)'),
  /** Give up waiting for the restored instance after this long. */
  timeoutMinutes: int(15, 720),
  /** How often the heartbeat writer inserts a row (the resolution of the measured RPO). */
  heartbeatIntervalMinutes: int(1, 60),
  /** Alarm when the measured recovery point is older than this. */
  rpoTargetMinutes: int(5, 1_440),
});

const sloSchema = z.strictObject({
  /** Share of non-5xx responses over 30 days, in percent (e.g. 99.9). */
  availabilityTargetPercent: z
    .number()
    .lt(100, 'must be below 100: a 100% target leaves no error budget, so every error would page')
    .refine((t) => FAST_BURN_RATE * (100 - t) <= 100, {
      message: `must be at least ${(100 - 100 / FAST_BURN_RATE).toFixed(2)}: below that a ${FAST_BURN_RATE}x burn rate needs more than 100% errors and the fast-burn alarm could never fire`,
    }),
  /** Share of requests faster than `latencyThresholdMs`, in percent. */
  latencyTargetPercent: z
    .number()
    .lt(100, 'must be below 100: a 100% target leaves no error budget')
    .refine((t) => FAST_BURN_RATE * (100 - t) <= 100, {
      message: `must be at least ${(100 - 100 / FAST_BURN_RATE).toFixed(2)} so the fast-burn alarm can fire`,
    }),
  latencyThresholdMs: int(10, 30_000),
});

const serviceSchema = z.strictObject({
  /** Memory of the API function; CPU scales with it. */
  memoryMiB: int(128, 10_240),
  /** Hard limit of one API invocation; the HTTP API itself gives up at 30 s. */
  timeoutSeconds: int(1, 29),
  /** Requests one caller may make per minute before the service answers 429. */
  perCallerRequestsPerMinute: int(1, 100_000),
  /** How long Cognito access and ID tokens live. */
  accessTokenMinutes: int(5, 1_440),
});

const edgeSchema = z.strictObject({
  /** WAF: requests per 5 minutes one IP may send to any path. */
  perIpRequestsPer5Min: int(100, 2_000_000_000),
  /** WAF: requests per 5 minutes one IP may send to the write routes (stricter). */
  perIpWriteRequestsPer5Min: int(100, 2_000_000_000),
  /** WAF: path prefixes of the API's write routes, lower case (`/notes`). */
  writePathPrefixes: z
    .array(
      z
        .string()
        .regex(
          /^\/[a-z0-9\-._~%!$&'()+,;=:@/]*$/,
          "must start with '/' and be lower case, without wildcards or query",
        ),
    )
    .min(1),
  /** WAF on the user pool: sign-in requests per 5 minutes one IP may send. */
  perIpSignInRequestsPer5Min: int(10, 2_000_000_000),
  /** API Gateway stage throttling. */
  throttleRatePerSecond: int(1, 10_000),
  throttleBurst: int(1, 5_000),
  logRetentionDays,
});

const deploymentSchema = z.strictObject({
  /** How CodeDeploy shifts traffic to a new version of the API. */
  strategy: z.enum(['canary', 'linear', 'allAtOnce']),
  /** Canary: share of traffic on the new version first. Linear: share added per step. */
  percentage: int(1, 99),
  /**
   * Canary: how long the first share runs. Linear: minutes between steps. At least the
   * rollback alarms' 3-minute evaluation window (SafeDeployment refuses less).
   */
  intervalMinutes: int(1, 60),
  /**
   * Requests per minute the API serves at a quiet but normal hour: at `percentage` the new
   * version must get at least the alarms' minimum of 10 requests a minute (checked at synth).
   */
  expectedRequestsPerMinute: int(1, 10_000_000),
});

const jobsSchema = z.strictObject({
  /** Deliveries before a message moves to the dead-letter queue. */
  maxReceiveCount: int(1, 20),
  /** Upper bound of concurrent worker invocations (SQS event source maximum concurrency). */
  maxConcurrency: int(2, 1_000),
  /** Alarm when the oldest message is older than this. */
  maxMessageAgeMinutes: int(1, 1_440),
});

const observabilitySchema = z.strictObject({
  /** Base URL of the runbooks/ folder in your repository; alarm descriptions link below it. */
  runbookBaseUrl: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
  /** Monthly AWS Budget for the environment, in USD. */
  monthlyBudgetUsd: int(1, 1_000_000),
  /**
   * Alarm when no rollback drill has succeeded for this many days. At most 7: a CloudWatch
   * alarm on daily datapoints looks back 7 days at most.
   */
  rollbackDrillMaxAgeDays: z
    .number()
    .int()
    .min(1)
    .max(
      7,
      'must be at most 7: a CloudWatch alarm on daily datapoints looks back 7 days at most (drill weekly)',
    ),
});

const domainSchema = z.strictObject({
  domainName: z.string().regex(HOSTNAME, 'must be a lower-case DNS name such as api.example.com'),
  /** ACM certificate for CloudFront: it must live in us-east-1. */
  certificateArn: z
    .string()
    .regex(
      CERTIFICATE_ARN,
      'must be an ACM certificate ARN in us-east-1 (CloudFront only reads certificates there)',
    ),
});

export const environmentConfigSchema = z
  .strictObject({
    name: z.enum(ENVIRONMENT_NAMES),
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
    region: z.string().regex(REGION, 'must be an AWS region code such as eu-west-1'),
    /** Fixed AZs, so synth needs no credentials and no context lookups. */
    availabilityZones: z
      .array(z.string())
      .min(2, 'must list at least 2 availability zones (RDS subnet groups and Multi-AZ need two)')
      .max(3, 'must list at most 3 availability zones'),
    terminationProtection: z.boolean(),
    network: networkSchema,
    database: databaseSchema,
    cache: cacheSchema,
    restoreVerification: restoreVerificationSchema,
    slo: sloSchema,
    service: serviceSchema,
    edge: edgeSchema,
    deployment: deploymentSchema,
    jobs: jobsSchema,
    observability: observabilitySchema,
    /** Where critical alarms are e-mailed. */
    alarmEmail: z.email('must be an e-mail address'),
    domain: domainSchema.optional(),
  })
  .superRefine((c, ctx) => {
    c.availabilityZones.forEach((az, i) => {
      if (!az.startsWith(c.region) || !/^[a-z]$/.test(az.slice(c.region.length))) {
        ctx.addIssue({
          code: 'custom',
          path: ['availabilityZones', i],
          input: az,
          message: `must be an availability zone of ${c.region}, such as ${c.region}a`,
        });
      }
    });
    if (new Set(c.availabilityZones).size !== c.availabilityZones.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['availabilityZones'],
        input: c.availabilityZones,
        message: 'must not repeat an availability zone',
      });
    }
    if (c.network.natGateways > c.availabilityZones.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'natGateways'],
        input: c.network.natGateways,
        message: `must be at most the number of availability zones (${c.availabilityZones.length})`,
      });
    }
    if (c.database.maxAllocatedStorageGiB < c.database.allocatedStorageGiB) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'maxAllocatedStorageGiB'],
        input: c.database.maxAllocatedStorageGiB,
        message: `must be at least allocatedStorageGiB (${c.database.allocatedStorageGiB})`,
      });
    }
    if (c.database.proxy.maxIdleConnectionsPercent > c.database.proxy.maxConnectionsPercent) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'proxy', 'maxIdleConnectionsPercent'],
        input: c.database.proxy.maxIdleConnectionsPercent,
        message: `must be at most maxConnectionsPercent (${c.database.proxy.maxConnectionsPercent})`,
      });
    }
    if (c.edge.perIpWriteRequestsPer5Min > c.edge.perIpRequestsPer5Min) {
      ctx.addIssue({
        code: 'custom',
        path: ['edge', 'perIpWriteRequestsPer5Min'],
        input: c.edge.perIpWriteRequestsPer5Min,
        message: `must be at most perIpRequestsPer5Min (${c.edge.perIpRequestsPer5Min}): the write limit is the stricter one`,
      });
    }
    if (c.name === 'production') {
      const required: Array<[string[], unknown, string]> = [
        [['terminationProtection'], c.terminationProtection, 'must be true in production'],
        [['database', 'multiAz'], c.database.multiAz, 'must be true in production (survives an AZ failure)'],
        [['database', 'deletionProtection'], c.database.deletionProtection, 'must be true in production'],
      ];
      for (const [path, value, message] of required) {
        if (value !== true) ctx.addIssue({ code: 'custom', path, input: value, message });
      }
      if (c.database.backupRetentionDays < 7) {
        ctx.addIssue({
          code: 'custom',
          path: ['database', 'backupRetentionDays'],
          input: c.database.backupRetentionDays,
          message: 'must be at least 7 in production',
        });
      }
      if (c.cache.replicas < 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['cache', 'replicas'],
          input: c.cache.replicas,
          message: 'must be at least 1 in production (Multi-AZ failover needs a replica)',
        });
      }
    }
  });

/** The validated configuration of one environment. */
export type EnvironmentConfig = z.infer<typeof environmentConfigSchema>;

/** A configuration as written (before validation): what an adopter's infra/config.ts declares. */
export type RawEnvironmentConfig = z.input<typeof environmentConfigSchema>;

/** Thrown when a configuration does not validate; `message` lists every problem. */
export class ConfigValidationError extends Error {
  constructor(
    public readonly environment: string,
    public readonly problems: readonly string[],
  ) {
    super(
      `Invalid configuration for environment '${environment}' (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigValidationError';
  }
}

/**
 * Validates a raw configuration object and returns it typed.
 * @throws ConfigValidationError listing every problem: field, value received and what is allowed.
 */
export function validateEnvironmentConfig(environment: string, raw: unknown): EnvironmentConfig {
  const result = environmentConfigSchema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${[...issue.path, key].join('.')}: unknown field (check the spelling)`);
    }
    const field = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    const received = 'input' in issue ? describe(issue.input) : 'nothing';
    return [`${field}: got ${received}; ${humanize(issue)}`];
  });
  throw new ConfigValidationError(environment, problems);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

function humanize(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_big':
      return issue.origin === 'array' || !issue.message.startsWith('Too big')
        ? issue.message
        : `must be at most ${String(issue.maximum)}${issue.inclusive ? '' : ' (exclusive)'}`;
    case 'too_small':
      return issue.origin === 'array' || !issue.message.startsWith('Too small')
        ? issue.message
        : `must be at least ${String(issue.minimum)}${issue.inclusive ? '' : ' (exclusive)'}`;
    case 'invalid_type':
      return `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}
