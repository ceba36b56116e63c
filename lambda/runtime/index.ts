/**
 * `@shipshape/cdk/runtime`: the library Lambda handlers import, ours and adopters'. No CDK
 * code, no work at import time; import what you use and the bundler drops the rest.
 * Examples: docs/runtime.md.
 *
 * Its libraries (`pg`, `@aws-sdk/rds-signer`, `@aws-sdk/client-secrets-manager`, `@redis/client`,
 * `@aws-lambda-powertools/logger` and `metrics`, `zod`) are bundled into your handler at synth:
 * install them in the project whose handlers import this module (`shipshape init` adds them).
 */
export {
  apiHandler,
  type ApiHandlerOptions,
  type HttpApiHandler,
  type RequestOutcome,
  type RequestOutcomeHook,
} from './handler';
export {
  DEPLOYMENT_METRIC_DIMENSIONS,
  DEPLOYMENT_METRIC_NAMES,
  DEPLOYMENT_METRICS_NAMESPACE,
  withDeploymentMetrics,
  type DeploymentMetricsOptions,
} from './deployment-metrics';
export {
  cacheProbe,
  databaseProbe,
  runHealthCheck,
  type HealthCheckOptions,
  type HealthProbe,
  type ProbeResult,
} from './health';
export { currentRequest, remainingBudgetMs, runInRequestScope, type RequestScope } from './request-scope';
export { createPoolFromEnv, type PoolFromEnvOptions } from './env-pool';
export { connectCacheFromEnv, type CacheFromEnvOptions } from './env-cache';
export {
  createIamPool,
  createPool,
  Database,
  sqlComment,
  type IamPoolSettings,
  type Sql,
  type TransactionContext,
} from './pool';
export {
  iamConnect,
  withConnection,
  type ConnectFn,
  type PostgresTarget,
  type PostgresTimeouts,
} from './iam-connect';
export {
  databaseSettingsFromEnv,
  iamDatabaseConnector,
  type ConnectDatabase,
  type DatabaseSettings,
} from './database-settings';
export {
  connector,
  createCacheClient,
  ItemCache,
  readCacheToken,
  type CacheClient,
  type CacheClientSettings,
} from './cache';
export {
  ApiError,
  badRequest,
  classify,
  dataException,
  isTransient,
  notFound,
  unauthorized,
  unavailable,
  type ApiErrorOptions,
  type ErrorKind,
  type FieldErrors,
} from './errors';
export {
  errorResponse,
  header,
  json,
  noContent,
  parseJsonBody,
  requestIdOf,
  validate,
  type ApiResponse,
} from './http';
export {
  IDEMPOTENCY_KEY,
  IdempotencyStore,
  requestHash,
  type IdempotencyStoreOptions,
  type IdempotentRequest,
  type IdempotentResult,
  type StoredResponse,
} from './idempotency';
export { errorSummary, logError } from './log';
export { FatalError, RetryableError, UserError } from './task-errors';
export { TimeoutError, withTimeout } from './timeout';
