/* eslint-disable @typescript-eslint/no-require-imports -- modules load on first use so that `--help`
   stays fast; `require`, not `import()`, because the bin/shipshape.js shim hooks tsx into CommonJS only. */
/** `shipshape status`: what serves traffic now, what came before, and whether a rollback is possible. */
import {
  type CommandDeps,
  COMMON_HELP,
  COMMON_OPTIONS,
  createRuntime,
  parseFlags,
  runGuarded,
  validateCommonFlags,
  withDeps,
} from '../command';
import { CliError, ExitCode, exitCodeHelp } from '../exit-codes';

export const HELP = `Usage: shipshape status --env <staging|production> [--limit <n>]

Show the live version of the API (with the traffic split during a canary), the previous version,
the last deployments with their state and duration, and whether a rollback is possible now (and
why not). Read-only.

Options:
  --limit <n>   how many recent deployments to list (1-25, default 5)

${COMMON_HELP}

${exitCodeHelp()}

Examples:
  shipshape status --env production
  shipshape status --env staging --limit 10 --json | jq .rollback
`;

const OPTIONS = { ...COMMON_OPTIONS, limit: { type: 'string' } } as const;

export async function run(argv: string[], injected?: CommandDeps): Promise<number> {
  return withDeps(injected, (deps) =>
    runGuarded(deps, argv.includes('--json'), async (out) => {
      const values = parseFlags(argv, OPTIONS);
      if (values.help) {
        deps.stdout.write(HELP);
        return ExitCode.OK;
      }
      const flags = await validateCommonFlags(values);
      const limit = values.limit === undefined ? 5 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 25) {
        throw new CliError(`--limit '${values.limit}' must be a whole number from 1 to 25`, ExitCode.USAGE);
      }

      const { readServiceOutputs, statelessStackName }: typeof import('../aws') = require('../aws');
      const engine: typeof import('../deployments') = require('../deployments');
      const { formatDuration, table }: typeof import('../output') = require('../output');
      const rt = await createRuntime(deps, out, flags, 0);
      const stackName = statelessStackName(flags.environment);
      const outputs = await readServiceOutputs(rt.clients.cloudFormation, stackName, flags.region, rt.signal);
      const state = await engine.readServiceState(rt, outputs);
      const live = await engine.readVersionDeclaration(rt, outputs.functionName, state.alias.version);
      const previous = await engine.findPreviousVersion(rt, outputs, state);

      let rollback: { possible: boolean; reason: string; exitCode?: number };
      try {
        const plan = await engine.planRollback(rt, outputs, state);
        rollback =
          plan.kind === 'noop'
            ? { possible: false, reason: 'the previous version is already live' }
            : { possible: true, reason: engine.describePlan(plan, outputs)[0] };
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        rollback = { possible: false, reason: error.message, exitCode: error.exitCode };
      }

      const weights = Object.entries(state.alias.weights);
      const shifted = weights.reduce((sum, [, w]) => sum + w, 0);
      const traffic = [
        { version: state.alias.version, weight: Math.round((1 - shifted) * 1000) / 1000 },
        ...weights.map(([version, weight]) => ({ version, weight })),
      ];
      const recent = state.deployments.slice(0, limit);

      out.info(
        `${flags.environment} (${flags.region}) — ${stackName}, ${outputs.functionName}:${outputs.aliasName}`,
      );
      out.info(
        `Live:      ${traffic.map((t) => `version ${t.version} ${Math.round(t.weight * 100)}%`).join(', ')}` +
          `   schema ${live.schema ?? 'undeclared'}, contract migrations ${live.contracts ?? 'undeclared'}`,
      );
      out.info(`Previous:  ${previous ? `version ${previous.version} (${previous.source})` : 'none'}`);
      out.info(`Rollback:  ${rollback.possible ? 'possible now — ' : 'not possible — '}${rollback.reason}`);
      out.info('');
      if (recent.length === 0) {
        out.info('No deployments yet.');
      } else {
        out.info(
          table([
            ['DEPLOYMENT', 'STATUS', 'VERSIONS', 'STARTED', 'DURATION', 'NOTE'],
            ...recent.map((d) => [
              d.id,
              d.status,
              d.fromVersion || d.toVersion ? `${d.fromVersion ?? '?'} → ${d.toVersion ?? '?'}` : '-',
              d.createdAt?.replace(/\.\d+Z$/, 'Z') ?? '-',
              d.durationSeconds === undefined
                ? d.completedAt
                  ? '-'
                  : 'running'
                : formatDuration(d.durationSeconds),
              [d.isRollback ? 'rollback' : '', d.error ?? ''].filter(Boolean).join(': '),
            ]),
          ]),
        );
      }
      out.result({
        ok: true,
        environment: flags.environment,
        region: flags.region,
        stackName,
        live: { version: state.alias.version, schema: live.schema, contracts: live.contracts, traffic },
        previous: previous ?? null,
        activeDeployment: state.active ?? null,
        rollback,
        deployments: recent,
      });
      return ExitCode.OK;
    }),
  );
}
