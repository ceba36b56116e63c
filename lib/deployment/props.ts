import type { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { SmokeCheck } from '../../lambda/deploy-hooks/smoke-test/smoke';

/** How CodeDeploy moves traffic from the old version to the new one. */
export interface TrafficShift {
  /** `canary`: `percentage` for `interval`, then the rest. `linear`: `percentage` more every `interval`. */
  readonly strategy: 'canary' | 'linear' | 'allAtOnce';
  /**
   * Share of the traffic, 1-99 (ignored for `allAtOnce`).
   * @default 10
   */
  readonly percentage?: number;
  /**
   * Canary: how long the first share runs. Linear: time between steps. Whole minutes, 3-60:
   * at least the rollback alarms' evaluation window (3 minutes), so they can fire in it.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
}

/** Reusable knobs of {@link SafeDeployment}. */
export interface SafeDeploymentOptions {
  /**
   * How traffic shifts to a new version.
   * @default - canary, 10% for 5 minutes
   */
  readonly trafficShift?: TrafficShift;

  /**
   * Roll back when more than this share of the new version's requests get a 5xx (its own EMF
   * metrics; 4xx never count), or of its invocations fail or are throttled in Lambda, in percent.
   * @default 5
   */
  readonly errorRateThresholdPercent?: number;

  /**
   * Roll back when the new version's p99 latency exceeds this (use the SLO latency threshold).
   * @default Duration.seconds(1)
   */
  readonly latencyThreshold?: Duration;

  /**
   * A minute with fewer requests (or invocations) of the new version than this never counts as
   * breaching a rollback alarm (one failed request out of two is noise, not a 50% error rate).
   * @default 10
   */
  readonly minimumInvocationsPerMinute?: number;

  /**
   * Requests per minute the API serves at a quiet but normal hour. When set, synth refuses a
   * canary percentage at which the new version would serve fewer than
   * `minimumInvocationsPerMinute` requests a minute: its error-rate alarm could never fire.
   * @default - not checked
   */
  readonly expectedRequestsPerMinute?: number;

  /**
   * More alarms that roll a deployment back (e.g. the SLO fast-burn alarm).
   * @default - none
   */
  readonly rollbackAlarms?: cloudwatch.IAlarm[];

  /**
   * Where the rollback alarms also notify.
   * @default - no notification (CodeDeploy acts on them; the deployment's failure is the signal)
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Runbook the alarm descriptions link to.
   * @default - no link
   */
  readonly runbookUrl?: string;

  /**
   * A migration that waits longer than this for a lock gives up and rolls back.
   * @default Duration.seconds(5)
   */
  readonly migrationLockTimeout?: Duration;

  /**
   * Longest statement of a migration.
   * @default Duration.minutes(5)
   */
  readonly migrationStatementTimeout?: Duration;

  /**
   * Name of the environment, for the custom deployment configuration's name.
   * @default - the stack name
   */
  readonly environmentName?: string;
}

/** The database the migration gate migrates. */
export interface MigrationTarget {
  /** Master user secret (`username`, `password`, and optionally `host`, `port`, `dbname`). */
  readonly secret: secretsmanager.ISecret;
  /** The instance endpoint (NOT the proxy): migrations are DDL under a session advisory lock. */
  readonly endpoint: { readonly hostname: string; readonly port: number };
  /** Security group(s) of the instance; the gate is allowed in on the default port. */
  readonly connections: ec2.IConnectable;
  /** VPC the gate runs in (it must reach the instance, Secrets Manager, CodeDeploy and Lambda). */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the gate: they need a route to the AWS APIs.
   * @default - private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Database to migrate.
   * @default - `dbname` of the secret, else `postgres`
   */
  readonly databaseName?: string;
  /**
   * The migrations the gate applies (`NNNN_name.sql` files, see `lib/migrations`); they are
   * copied into the gate's code asset at synth, so a changed file deploys a new gate.
   * @default - `migrations/` in the directory `cdk synth` runs in (the CDK app's project root)
   */
  readonly migrationsDirectory?: string;
}

/** Where the smoke test knocks and who it signs in as. */
export interface SmokeTestTarget {
  /** Base URL of the public front door (the CloudFront URL). */
  readonly apiUrl: string;
  /** The API's Cognito app client; it must allow `USER_PASSWORD_AUTH` for the smoke user. */
  readonly userPoolClient: cognito.IUserPoolClient;
  /**
   * User name of the smoke-test user (an e-mail address fits pools that sign in by e-mail).
   * @default 'smoke-test@shipshape.invalid'
   */
  readonly username?: string;
  /**
   * Public liveness path probed first.
   * @default '/health'
   */
  readonly healthPath?: string;
  /**
   * The service's own checks, run after sign-in (the smoke user's token is sent unless
   * `authenticated: false`; writes get a fresh Idempotency-Key).
   * @default - the sample API's note round trip
   */
  readonly checks?: readonly SmokeCheck[];
}

/** Props of {@link SafeDeployment}. */
export interface SafeDeploymentProps extends SafeDeploymentOptions {
  /** The alias CodeDeploy shifts (the service's `live`). */
  readonly alias: lambda.Alias;
  /**
   * Run migrations before traffic shifts.
   * @default - no migrations, the gate only self-tests the new version
   */
  readonly migrations?: MigrationTarget;
  /**
   * Smoke-test the front door after traffic shifted.
   * @default - no AfterAllowTraffic hook
   */
  readonly smokeTest?: SmokeTestTarget;
  /**
   * Path of the API's liveness check the gate invokes on the new version (a synthetic
   * `GET <healthPath>` event) before any traffic shifts.
   * @default '/health'
   */
  readonly healthPath?: string;
  /**
   * The edge's origin-verify secret, when the API refuses requests without CloudFront's header:
   * the gate's self-test (a direct invoke of the new version) sends its current value.
   * @default - the self-test sends no origin-verify header
   */
  readonly originVerifySecret?: secretsmanager.ISecret;
}
