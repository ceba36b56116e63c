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

export const HELP = `Usage: shipshape rollback --env <staging|production> [--to <version>] [--yes] [--dry-run]

Roll the API back in one step. If a deployment is shifting traffic, it is stopped with automatic
rollback and the command waits until the old version carries 100% of traffic. Otherwise a
CodeDeploy deployment moves the 'live' alias from the current version to the previous one (or
--to) all at once; the traffic hooks still run. A target built before a 'contract' migration that
the live version's schema includes is refused. Then <ApiUrl>/health is checked.

Options:
  --to <version>          roll back to this published version number (default: the previous one)
  --yes                   do not ask for confirmation (production asks otherwise)
  --dry-run               print the plan and change nothing
  --timeout-minutes <n>   stop waiting after n minutes (default 30; the deployment keeps running)

${COMMON_HELP}

${exitCodeHelp()}

Examples:
  shipshape rollback --env production                 # the 3 AM command: asks you to type 'production'
  shipshape rollback --env staging --to 41 --yes
  shipshape rollback --env production --dry-run --json
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  to: { type: 'string' },
  yes: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  'timeout-minutes': { type: 'string' },
} as const;

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
    runGuarded(deps, argv.includes('--json'), async (out) => {
      const values = parseFlags(argv, OPTIONS);
      if (values.help) {
        deps.stdout.write(HELP);
        return ExitCode.OK;
      }
      const flags = await validateCommonFlags(values);
      const to = parseVersion(values.to);
      const timeoutMinutes = parseTimeoutMinutes(values['timeout-minutes']);
      const dryRun = values['dry-run'] === true;

      const { readServiceOutputs, statelessStackName }: typeof import('../aws') = require('../aws');
      const engine: typeof import('../deployments') = require('../deployments');
      const rt = await createRuntime(deps, out, flags, timeoutMinutes * 60_000);
      const stackName = statelessStackName(flags.environment);
      out.step(`Reading ${stackName} in ${flags.region}`);
      const outputs = await readServiceOutputs(rt.clients.cloudFormation, stackName, flags.region, rt.signal);
      const state = await engine.readServiceState(rt, outputs);
      const plan = await engine.planRollback(rt, outputs, state, to);
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
        await confirmProduction(deps, out, flags.environment, 'roll back production');
      }
      if (rt.signal.aborted)
        throw new CliError(
          'Interrupted before any change was made; nothing was changed.',
          ExitCode.INTERRUPTED,
        );

      const from = plan.fromVersion;
      const result = await engine.executePlan(
        rt,
        outputs,
        plan,
        `${engine.ROLLBACK_DESCRIPTION_PREFIX} (${flags.environment}): version ${from ?? '?'} -> ${plan.toVersion}`,
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
