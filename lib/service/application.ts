import type * as iam from 'aws-cdk-lib/aws-iam';
import type { CriticalTable } from '../restore-verification/restore-verification';
import type { SmokeCheck } from '../../lambda/deploy-hooks/smoke-test/smoke';
import { handlerCode } from '../util/handler-code';
import type { ServiceCode } from './code';

/**
 * The service an environment runs: the team's code and schema, and what the platform checks
 * around it. `buildShipshapeApp(app, { application })` builds both environments around it; the
 * reference app passes {@link sampleApplication}.
 */
export interface ServiceApplication extends ServiceCode {
  /**
   * Description of the function.
   * @default 'API (HTTP API payload v2)'
   */
  readonly description?: string;
  /**
   * Name on logs and metrics (`POWERTOOLS_SERVICE_NAME`).
   * @default 'shipshape-api'
   */
  readonly serviceName?: string;
  /**
   * Extra environment of the function (identifiers and settings; never a secret value).
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Extra permissions of the function.
   * @default - none
   */
  readonly initialPolicy?: iam.PolicyStatement[];
  /**
   * Public liveness path: routed without authorization, invoked by the migration gate on the new
   * version and probed first by the smoke test. Must answer 200 without data.
   * @default '/health'
   */
  readonly healthPath?: string;
  /**
   * The service's migrations (expand/contract, reversible): applied by the migration gate before
   * traffic shifts; the newest names the schema version every function version carries.
   * @default - `migrations/` in the directory `cdk synth` runs in
   */
  readonly migrationsDirectory?: string;
  /**
   * Tables the daily restore verification checks in the restored copy (`heartbeat`, written by
   * the platform, is always checked).
   * @default - only `heartbeat`
   */
  readonly criticalTables?: CriticalTable[];
  /**
   * Requests the deployment smoke test sends through the front door after traffic shifted
   * (after the health path and the smoke user's sign-in).
   * @default - none: health and sign-in only
   */
  readonly smokeChecks?: readonly SmokeCheck[];
}

/** The tables of the platform every service's restore verification checks. */
export const PLATFORM_CRITICAL_TABLES: readonly CriticalTable[] = [{ name: 'heartbeat', minRows: 1 }];

/** The sample API of this repository, built through the same public API an adopter uses. */
export function sampleApplication(): ServiceApplication {
  return {
    code: handlerCode('api'),
    handler: 'index.handler',
    description: 'Shipshape sample API (HTTP API payload v2)',
    criticalTables: [
      { name: 'notes', minRows: 0 },
      { name: 'accounts', minRows: 0 },
    ],
  };
}

/** The restore verification's table list: the application's, then the platform's. */
export function criticalTablesOf(application: ServiceApplication): CriticalTable[] {
  const own = application.criticalTables ?? [];
  return [...own, ...PLATFORM_CRITICAL_TABLES.filter((p) => !own.some((t) => t.name === p.name))];
}
