/* eslint-disable @typescript-eslint/no-require-imports -- modules load on first use so that `--help`
   stays fast; `require`, not `import()`, because the bin/shipshape.js shim hooks tsx into CommonJS only. */
/**
 * `shipshape drill`: practise the 3 AM rollback on a schedule. Records the live version, rolls
 * back to the previous one, checks health, rolls forward to the recorded version, checks again,
 * and publishes how long each half took so that an alarm can tell when drills stop happening or
 * get slow.
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
import { elapsedSeconds } from '../output';
import { parseTimeoutMinutes } from './rollback';

/** CloudWatch namespace and metric names of drills (shared contract with observability). */
export const DRILL_NAMESPACE = 'Shipshape/Deployments';
export const DRILL_METRICS = {
  succeeded: 'DrillSucceeded',
  timeToRollback: 'TimeToRollbackSeconds',
  timeToRecover: 'TimeToRecoverSeconds',
} as const;

export const HELP = `Usage: shipshape drill --env staging [--allow-production] [--yes]

Practise a rollback: record the live version, roll back to the previous version, check
<ApiUrl>/health, roll forward to the recorded version, check again. Publishes to CloudWatch
(namespace ${DRILL_NAMESPACE}, dimension Environment):
  ${DRILL_METRICS.succeeded}        1 when every step passed, 0 when a step failed
  ${DRILL_METRICS.timeToRollback}   start of the rollback → previous version on 100% and healthy
  ${DRILL_METRICS.timeToRecover}    start of the roll-forward → recorded version on 100% and healthy
An interrupted drill (Ctrl-C) publishes nothing. A drill needs a steady state: it refuses while a
deployment is in progress.

Options:
  --allow-production      drill production too (refused otherwise; asks for confirmation unless --yes)
  --yes                   do not ask for confirmation
  --timeout-minutes <n>   stop waiting for each deployment after n minutes (default 30)

${COMMON_HELP}

${exitCodeHelp()}

Examples:
  shipshape drill --env staging
  shipshape drill --env staging --json > drill-report.json
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'allow-production': { type: 'boolean', default: false },
  yes: { type: 'boolean', default: false },
  'timeout-minutes': { type: 'string' },
} as const;

export async function run(argv: string[], injected?: CommandDeps): Promise<number> {
  return withDeps(injected, (deps) =>
    runGuarded(deps, argv.includes('--json'), async (out, changes) => {
      const values = parseFlags(argv, OPTIONS);
      if (values.help) {
        deps.stdout.write(HELP);
        return ExitCode.OK;
      }
      const flags = await validateCommonFlags(values);
      const timeoutMinutes = parseTimeoutMinutes(values['timeout-minutes']);
      if (flags.environment === 'production' && values['allow-production'] !== true) {
        throw new CliError(
          'Refusing to drill production: a drill takes the newest version out of service for minutes. ' +
            'Drill staging, or pass --allow-production if you really mean it. Nothing was changed.',
          ExitCode.REFUSED,
        );
      }

      const {
        isAbortError,
        readServiceOutputs,
        statelessStackName,
      }: typeof import('../aws') = require('../aws');
      const engine: typeof import('../deployments') = require('../deployments');
      const {
        PutMetricDataCommand,
      }: typeof import('@aws-sdk/client-cloudwatch') = require('@aws-sdk/client-cloudwatch');
      const rt = await createRuntime(deps, out, flags, timeoutMinutes * 60_000, changes);
      const stackName = statelessStackName(flags.environment);
      out.step(`Reading ${stackName} in ${flags.region}`);
      const outputs = await readServiceOutputs(rt.clients.cloudFormation, stackName, flags.region, rt.signal);
      const state = await engine.readServiceState(rt, outputs);
      if (state.active) {
        throw new CliError(
          `Deployment ${state.active.id} is in progress (${state.active.status}); a drill needs a steady state. ` +
            'Try again when it has finished. Nothing was changed.',
          ExitCode.REFUSED,
        );
      }
      const plan = await engine.planRollback(rt, outputs, state);
      if (plan.kind !== 'deploy') {
        throw new CliError(
          'No earlier version to drill a rollback to. Nothing was changed.',
          ExitCode.NO_PREVIOUS_VERSION,
        );
      }
      const recorded = plan.fromVersion;
      out.step(
        `Recorded live version ${recorded}; the drill rolls back to version ${plan.toVersion} and forward again`,
      );
      out.step(
        'Plan of the rollback (the roll-forward mirrors it, with the same hooks and alarm treatment):',
      );
      for (const line of engine.describePlan(plan, outputs)) out.info(`    ${line}`);
      if (flags.environment === 'production' && values.yes !== true) {
        await confirmProduction(deps, out, flags.environment, 'drill a rollback');
      }

      const publish = async (measured: { succeeded: boolean; rollback?: number; recover?: number }) => {
        const dimensions = [{ Name: 'Environment', Value: flags.environment }];
        const timestamp = new Date(rt.now());
        const data = [
          { MetricName: DRILL_METRICS.succeeded, Value: measured.succeeded ? 1 : 0, Unit: 'Count' as const },
          ...(measured.rollback === undefined
            ? []
            : [
                {
                  MetricName: DRILL_METRICS.timeToRollback,
                  Value: measured.rollback,
                  Unit: 'Seconds' as const,
                },
              ]),
          ...(measured.recover === undefined
            ? []
            : [
                {
                  MetricName: DRILL_METRICS.timeToRecover,
                  Value: measured.recover,
                  Unit: 'Seconds' as const,
                },
              ]),
        ].map((d) => ({ ...d, Dimensions: dimensions, Timestamp: timestamp }));
        await rt.clients.cloudWatch.send(
          new PutMetricDataCommand({ Namespace: DRILL_NAMESPACE, MetricData: data }),
        );
        out.step(
          `Published ${data.map((d) => `${d.MetricName}=${d.Value}`).join(', ')} to ${DRILL_NAMESPACE}`,
        );
      };
      // Ctrl-C: the drill stops at once (no restore deployment, no metrics) and says what runs.
      const interrupted = (error: unknown) =>
        rt.signal.aborted ||
        isAbortError(error) ||
        (error instanceof CliError && error.exitCode === ExitCode.INTERRUPTED);
      const restoreHint = `To put the recorded version back: shipshape rollback --env ${flags.environment} --to ${recorded} --yes`;
      const fail = async (
        step: string,
        error: unknown,
        measured: { rollback?: number; recover?: number },
      ) => {
        if (interrupted(error)) {
          const first = error instanceof CliError ? error.message : 'Interrupted (Ctrl-C).';
          throw new CliError(`${first}\n${restoreHint}`, ExitCode.INTERRUPTED);
        }
        try {
          await publish({ succeeded: false, ...measured });
        } catch (publishError) {
          out.warn(`shipshape: could not publish the failed drill's metrics: ${String(publishError)}`);
        }
        const reason = error instanceof Error ? error.message : String(error);
        throw new CliError(`Drill failed while ${step}: ${reason}\n${restoreHint}`, ExitCode.FAILED);
      };

      /** Moves traffic back to the recorded version; returns the seconds until it is live and healthy. */
      const rollForward = async (): Promise<number> => {
        const started = rt.now();
        const id = await engine.startShift(
          rt,
          outputs,
          plan.toVersion,
          recorded,
          plan.hooks,
          `shipshape drill (${flags.environment}): roll forward ${plan.toVersion} -> ${recorded}`,
        );
        out.step(`Deployment ${id} created; waiting for it to finish`);
        await engine.waitForDeployment(rt, outputs, id, recorded, started);
        const health = await engine.verifyHealth(rt, outputs.apiUrl);
        const elapsed = elapsedSeconds(rt.now() - started);
        if (!health.healthy)
          throw new Error(`version ${recorded} is unhealthy after the roll-forward (${health.detail})`);
        out.step(`Version ${recorded} live and healthy (${health.detail}) after ${elapsed}s`);
        return elapsed;
      };

      // 1. Roll back.
      out.step(`1/2 Rolling back: version ${recorded} → ${plan.toVersion}`);
      const rollbackStarted = rt.now();
      let shifted = false;
      let timeToRollback: number;
      try {
        await engine.executePlan(
          rt,
          outputs,
          plan,
          `${engine.ROLLBACK_DESCRIPTION_PREFIX} (${flags.environment} drill): version ${recorded} -> ${plan.toVersion}`,
        );
        shifted = true;
        const health = await engine.verifyHealth(rt, outputs.apiUrl);
        timeToRollback = elapsedSeconds(rt.now() - rollbackStarted);
        if (!health.healthy)
          throw new Error(`version ${plan.toVersion} is unhealthy after the rollback (${health.detail})`);
        out.step(`Version ${plan.toVersion} live and healthy (${health.detail}) after ${timeToRollback}s`);
      } catch (error) {
        // The previous version took traffic but is unhealthy: put the recorded version back first.
        // (A failed or stopped rollback deployment leaves the recorded version live on its own.)
        if (shifted && !interrupted(error)) {
          out.warn(
            `shipshape: ${error instanceof Error ? error.message : String(error)}; restoring version ${recorded}`,
          );
          try {
            await rollForward();
          } catch (restoreError) {
            out.warn(`shipshape: restoring version ${recorded} failed too: ${String(restoreError)}`);
          }
        }
        return fail('rolling back', error, {});
      }

      // 2. Roll forward to the recorded version.
      out.step(`2/2 Rolling forward: version ${plan.toVersion} → ${recorded}`);
      let timeToRecover: number;
      try {
        timeToRecover = await rollForward();
      } catch (error) {
        return fail('rolling forward', error, { rollback: timeToRollback });
      }

      await publish({ succeeded: true, rollback: timeToRollback, recover: timeToRecover });
      out.info('');
      out.info(`Drill passed in ${flags.environment}:`);
      out.info(`  rolled back   ${recorded} → ${plan.toVersion} in ${timeToRollback}s`);
      out.info(`  recovered     ${plan.toVersion} → ${recorded} in ${timeToRecover}s`);
      out.result({
        ok: true,
        environment: flags.environment,
        recordedVersion: recorded,
        rolledBackTo: plan.toVersion,
        timeToRollbackSeconds: timeToRollback,
        timeToRecoverSeconds: timeToRecover,
      });
      return ExitCode.OK;
    }),
  );
}
