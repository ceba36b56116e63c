// Validation of Service's props at synth time: every error names the construct, the value
// received and what is allowed. Values that are unresolved tokens are skipped.
import { existsSync } from 'node:fs';
import { type Duration, type Size, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ServiceCode } from './code';

/** Limits Cognito puts on access-token validity. */
const TOKEN_VALIDITY_MINUTES = { min: 5, max: 24 * 60 } as const;

/** Throws unless exactly one of `entry` and `code` is set (with a handler for `code`) and the health path is plain. */
export function validateServiceCode(scope: Construct, props: ServiceCode, healthPath: string): void {
  const where = `Service '${scope.node.path}'`;
  if ((props.entry === undefined) === (props.code === undefined)) {
    throw new Error(
      `${where}: set exactly one of entry (a handler file bundled at synth) and code (ready code with handler)`,
    );
  }
  if (props.code !== undefined && !props.handler) {
    throw new Error(`${where}: code needs handler, e.g. 'index.handler' (file.exportedFunction)`);
  }
  if (props.entry !== undefined && !existsSync(props.entry)) {
    throw new Error(`${where}: entry ${props.entry} does not exist; give the path of the handler file`);
  }
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(healthPath) || healthPath.includes('{')) {
    throw new Error(`${where}: healthPath must be a plain path starting with /, got '${healthPath}'`);
  }
}

/** Throws when an extra environment variable would replace one the construct sets or Lambda reserves. */
export function validateExtraEnvironment(
  scope: Construct,
  own: Record<string, string>,
  extra: Record<string, string>,
): void {
  for (const name of Object.keys(extra)) {
    if (name in own || name === 'CACHE_AUTH_SECRET_ARN' || name.startsWith('AWS_')) {
      throw new Error(
        `Service '${scope.node.path}': environment variable ${name} is set by the construct (or reserved by Lambda); choose another name`,
      );
    }
  }
}

/** Throws when a sizing or identity prop of the Service at `scope` is out of range. */
export function validateService(
  scope: Construct,
  v: {
    memorySize: Size;
    timeout: Duration;
    requestsPerMinute: number;
    accessTokenValidity: Duration;
    databaseUser: string;
  },
): void {
  const fail = (message: string): never => {
    throw new Error(`Service '${scope.node.path}': ${message}`);
  };
  const mib = v.memorySize.toMebibytes();
  if (!Token.isUnresolved(mib) && (mib < 128 || mib > 10_240)) {
    fail(`memorySize must be between 128 and 10240 MiB, got ${mib}`);
  }
  const seconds = v.timeout.toSeconds();
  if (!Token.isUnresolved(seconds) && (seconds < 1 || seconds > 29)) {
    fail(`timeout must be between 1 and 29 seconds (the HTTP API gives up at 30), got ${seconds}`);
  }
  if (
    !Token.isUnresolved(v.requestsPerMinute) &&
    (!Number.isInteger(v.requestsPerMinute) || v.requestsPerMinute < 1)
  ) {
    fail(`requestsPerMinutePerCaller must be a positive integer, got ${v.requestsPerMinute}`);
  }
  const minutes = v.accessTokenValidity.toMinutes();
  if (
    !Token.isUnresolved(minutes) &&
    (minutes < TOKEN_VALIDITY_MINUTES.min || minutes > TOKEN_VALIDITY_MINUTES.max)
  ) {
    fail(
      `accessTokenValidity must be between ${TOKEN_VALIDITY_MINUTES.min} minutes and 1 day (Cognito's limits), got ${minutes} minutes`,
    );
  }
  if (!Token.isUnresolved(v.databaseUser) && !/^[a-z_][a-z0-9_]{0,62}$/.test(v.databaseUser)) {
    fail(
      `databaseUser must be a plain PostgreSQL role name (lower case, digits, _), got '${v.databaseUser}'`,
    );
  }
}
