/**
 * `@shipshape/cdk/runtime`: the library a handler deployed by Shipshape imports (ours and
 * adopters'). It imports no CDK code; bundle it into your handler with your own bundler.
 *
 * Its libraries (`pg`, `@aws-sdk/rds-signer`, `zod`) are optional peer dependencies of the
 * package: install them in the project whose handlers import this module.
 */
export { FatalError, RetryableError, UserError } from '../shared/errors';
export {
  type ConnectDatabase,
  type DatabaseSettings,
  databaseSettingsFromEnv,
  iamDatabaseConnector,
} from '../shared/iam-database';
export {
  type ConnectFn,
  iamConnect,
  type PostgresTarget,
  type PostgresTimeouts,
  withConnection,
} from '../shared/iam-postgres';
