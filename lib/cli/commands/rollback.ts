/* eslint-disable @typescript-eslint/no-require-imports -- modules load on first use so that `--help`
   stays fast; `require`, not `import()`, because the bin/shipshape.js shim hooks tsx into CommonJS only. */
/**
 * `shipshape rollback`: put the previous (or a given) version of the API back in one command.
 * Order of work: validate every flag, read state (read-only), print the plan, confirm, and only
 * then change anything.
 */
import {
  type CommandDeps,
  COMMON_HELP,
  COMMON_OPTIONS,
  confirmProduction,
  createRuntime,
  parseFlags,
  runGuarded,
  validateCommonFlags,
  withDeps,
} from '../command';
import { CliError, ExitCode, exitCodeHelp } from '../exit-codes';
import type { RollbackOverrides } from '../rollback-plan';

export const HELP = `Usage: shipshape rollback --env <staging|production> [--to <version>] [--yes] [--dry-run]

Roll the API back in one step. If a deployment is shifting traffic, it is stopped with automatic
rollback and the command waits until the old version carries 100% of traffic. Otherwise a
CodeDeploy deployment moves the 'live' alias from the current version to the previous one (or
--to) all at once, with the deployment group's alarms not polled (they are likely firing because
of the incident; the plan says so). The traffic hooks named by the stack outputs run: the
migration gate applies no migration on a rollback and self-tests the target; the smoke test
probes it. Schema safety is decided from what the live and target versions declare in their
configuration (SHIPSHAPE_SCHEMA_CONTRACTS, SHIPSHAPE_SCHEMA_VERSION): a target built before a
contract migration of the live version is refused, and so is any rollback it cannot decide.
Then <ApiUrl>/health is checked.

Options:
  --to <version>          roll back to this published version number (default: the previous one)
  --yes                   do not ask for confirmation (production asks otherwise)
  --dry-run               print the plan and change nothing
  --timeout-minutes <n>   stop waiting after n minutes (default 30; the deployment keeps running)
  --skip-schema-check     roll back although schema safety is refused or cannot be decided
  --without-hooks         roll back although the stack does not name the hook functions
  --reason <text>         why (required with either override; printed, and recorded in the
                          deployment's description)

${COMMON_HELP}

${exitCodeHelp()}

Examples:
  shipshape rollback --env production                 # the 3 AM command: asks you to type 'production'
  shipshape rollback --env staging --to 41 --yes
  shipshape rollback --env production --dry-run --json
  shipshape rollback --env production --skip-schema-check --reason "0005 not applied: migrate status"
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  to: { type: 'string' },
  yes: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  'timeout-minutes': { type: 'string' },
  'skip-schema-check': { type: 'boolean', default: false },
  'without-hooks': { type: 'boolean', default: false },
  reason: { type: 'string' },
} as const;

/** Validates the override flags: each needs `--reason` (1-200 printable characters), and `--reason` needs one. */
export function parseOverrides(values: {
  'skip-schema-check'?: boolean;
  'without-hooks'?: boolean;
  reason?: string;
}): RollbackOverrides {
  const skipSchemaCheck = values['skip-schema-check'] === true;
  const withoutHooks = values['without-hooks'] === true;
  const reason = values.reason?.trim();
  if (!skipSchemaCheck && !withoutHooks) {
    if (values.reason !== undefined) {
      throw new CliError('--reason only goes with --skip-schema-check or --without-hooks', ExitCode.USAGE);
    }
    return {};
  }
  const flag = skipSchemaCheck ? '--skip-schema-check' : '--without-hooks';
  if (!reason) {
    throw new CliError(`${flag} needs --reason "<why>": the reason is printed and recorded`, ExitCode.USAGE);
  }
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (reason.length > 200 || /[\u0000-\u001f\u007f]/.test(reason)) {
    throw new CliError('--reason must be one line of at most 200 characters', ExitCode.USAGE);
  }
  return { skipSchemaCheck, withoutHooks, reason };
}

/** Parses `--timeout-minutes`: whole minutes from 1 to 180. */
export function parseTimeoutMinutes(value: string | undefined): number {
  if (value === undefined) return 30;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 180) {
    throw new CliError(
      `--timeout-minutes '${value}' must be a whole number of minutes from 1 to 180`,
      ExitCode.USAGE,
    );
  }
  return Number(value);
}

/** Parses `--to`: a published version number (not $LATEST, not an alias). */
export function parseVersion(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(value)) {
    throw new CliError(
      `--to '${value}' must be a published version number such as 41 (not $LATEST or an alias)`,
      ExitCode.USAGE,
    );
  }
  return value;
}

export async function run(argv: string[], injected?: CommandDeps): Promise<number> {
  return withDeps(injected, (deps) =>
    runGuarded(deps, argv.includes('--json'), async (out, changes) => {
      const values = parseFlags(argv, OPTIONS);
      if (values.help) {
        deps.stdout.write(HELP);
        return ExitCode.OK;
      }
      const flags = await validateCommonFlags(values);
      const to = parseVersion(values.to);
      const timeoutMinutes = parseTimeoutMinutes(values['timeout-minutes']);
      const dryRun = values['dry-run'] === true;
      const overrides = parseOverrides(values);

      const { readServiceOutputs, statelessStackName }: typeof import('../aws') = require('../aws');
      const engine: typeof import('../deployments') = require('../deployments');
      const rt = await createRuntime(deps, out, flags, timeoutMinutes * 60_000, changes);
      const stackName = statelessStackName(flags.environment);
      out.step(`Reading ${stackName} in ${flags.region}`);
      const outputs = await readServiceOutputs(rt.clients.cloudFormation, stackName, flags.region, rt.signal);
      const state = await engine.readServiceState(rt, outputs);
      const plan = await engine.planRollback(rt, outputs, state, { to, overrides });
      if (plan.kind === 'noop') {
        out.step(`Version ${plan.version} already carries 100% of traffic; nothing to do.`);
        out.result({ ok: true, environment: flags.environment, action: 'none', version: plan.version });
        return ExitCode.OK;
      }
      out.step('Plan:');
      for (const line of engine.describePlan(plan, outputs)) out.info(`    ${line}`);
      if (dryRun) {
        out.step('Dry run: nothing was changed.');
        out.result({ ok: true, environment: flags.environment, dryRun: true, plan });
        return ExitCode.OK;
      }
      if (flags.environment === 'production' && values.yes !== true) {
        await confirmProduction(deps, out, flags.environment, 'roll back');
      }
      if (rt.signal.aborted)
        throw new CliError(
          'Interrupted before any change was made; nothing was changed.',
          ExitCode.INTERRUPTED,
        );

      const from = plan.fromVersion;
      const overridden = [
        plan.kind === 'deploy' && plan.schema.skipped !== undefined ? 'schema check skipped' : '',
        plan.kind === 'deploy' && plan.withoutHooks !== undefined ? 'without hooks' : '',
      ].filter(Boolean);
      if (overridden.length > 0)
        out.warn(`shipshape: override (${overridden.join(', ')}): ${overrides.reason}`);
      const result = await engine.executePlan(
        rt,
        outputs,
        plan,
        `${engine.ROLLBACK_DESCRIPTION_PREFIX} (${flags.environment}): version ${from ?? '?'} -> ${plan.toVersion}` +
          (overridden.length > 0 ? `; ${overridden.join(', ')}: ${overrides.reason}` : ''),
      );
      out.step(`Version ${result.version} carries 100% of traffic after ${result.elapsedSeconds}s`);
      out.step(`Checking ${outputs.apiUrl.replace(/\/+$/, '')}/health`);
      const health = await engine.verifyHealth(rt, outputs.apiUrl);
      const report = {
        environment: flags.environment,
        action: plan.kind === 'stop' ? 'stopped-deployment' : 'deployed',
        deploymentId: result.deploymentId,
        fromVersion: from,
        toVersion: result.version,
        elapsedSeconds: result.elapsedSeconds,
        health: health.detail,
        ...(overridden.length > 0 ? { overrides: overridden, reason: overrides.reason } : {}),
      };
      if (!health.healthy) {
        out.warn(
          `shipshape: rolled back to version ${result.version}, but /health is failing (${health.detail}). ` +
            'See runbooks/rollback.md "Verification".',
        );
        out.result({ ok: false, exitCode: ExitCode.UNHEALTHY, ...report });
        return ExitCode.UNHEALTHY;
      }
      out.step(
        `Healthy (${health.detail}). Rolled back ${flags.environment} to version ${result.version} in ${result.elapsedSeconds}s.`,
      );
      out.result({ ok: true, ...report });
      return ExitCode.OK;
    }),
  );
}
