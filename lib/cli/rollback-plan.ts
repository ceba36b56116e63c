/**
 * Planning a rollback from live state, with read-only calls only: which version to go back to,
 * whether the schema allows it (from what the deployed versions declare, failing closed), which
 * hooks run (from the stack outputs) and how the group's alarms are treated. The plan's text is
 * what the operator confirms, so it says exactly what will happen.
 */
import { HOOK_OUTPUTS, type ServiceOutputs } from './aws';
import {
  ALARM_OVERRIDE_REASON,
  findPreviousVersion,
  readVersionDeclaration,
  type Runtime,
  statusCommand,
  type ServiceState,
} from './deployments';
import { CliError, ExitCode } from './exit-codes';
import { checkSchemaCompatibility, type SchemaVerdict } from './schema-compatibility';

/** Overrides of the rollback's safety refusals; each needs `reason`, which is printed and recorded. */
export interface RollbackOverrides {
  /** Roll back even when schema safety is unknown or refused (`--skip-schema-check`). */
  readonly skipSchemaCheck?: boolean;
  /** Roll back without hooks when the stack does not name them (`--without-hooks`). */
  readonly withoutHooks?: boolean;
  /** Why (`--reason`); required with any override. */
  readonly reason?: string;
}

export interface RollbackOptions {
  /** `--to`: the target version; default: the previous one. */
  readonly to?: string;
  readonly overrides?: RollbackOverrides;
}

export type RollbackPlan =
  | {
      /** A deployment is shifting traffic: stop it and let CodeDeploy put the old version back. */
      readonly kind: 'stop';
      readonly deploymentId: string;
      readonly fromVersion?: string;
      readonly toVersion: string;
    }
  | {
      /** Shift the alias to the target version all at once through CodeDeploy. */
      readonly kind: 'deploy';
      readonly fromVersion: string;
      readonly toVersion: string;
      readonly fromSchema?: string;
      readonly toSchema?: string;
      /** The schema decision, or the skipped one with the override's reason. */
      readonly schema: SchemaVerdict & { readonly skipped?: string };
      readonly hooks: Readonly<Record<string, string>>;
      /** Why no hooks run (the override's reason), when none do. */
      readonly withoutHooks?: string;
      /** Where the target came from: `--to`, the deployment history, or the version list. */
      readonly source: string;
    };

const SCHEMA_OVERRIDE = '--skip-schema-check --reason "<why it is safe>"';
const HOOKS_OVERRIDE = '--without-hooks --reason "<why>"';

/**
 * Decides what a rollback would do now, using read-only calls only.
 * @throws CliError ALREADY_ROLLING_BACK, NO_PREVIOUS_VERSION, REFUSED (schema), MISSING_STACK
 * (hook outputs) or USAGE (bad --to).
 */
export async function planRollback(
  rt: Runtime,
  outputs: ServiceOutputs,
  state: ServiceState,
  options: RollbackOptions = {},
): Promise<RollbackPlan | { readonly kind: 'noop'; readonly version: string }> {
  const { active, alias } = state;
  const { to, overrides = {} } = options;
  if (active?.isRollback) {
    throw new CliError(
      `A rollback is already in progress: deployment ${active.id} (${active.status}). Follow it with ` +
        `'${statusCommand(rt)}' or 'aws deploy get-deployment --deployment-id ${active.id}'.`,
      ExitCode.ALREADY_ROLLING_BACK,
    );
  }
  if (active) {
    if (to !== undefined) {
      throw new CliError(
        `Deployment ${active.id} is in progress; --to cannot be used until it is stopped. Run without --to ` +
          'to stop it and return to the version it replaces.',
        ExitCode.USAGE,
      );
    }
    // During a canary the alias still points at the old version; after the shift the AppSpec says.
    const old = active.fromVersion ?? (Object.keys(alias.weights).length > 0 ? alias.version : undefined);
    if (!old) {
      throw new CliError(
        `Deployment ${active.id} is in progress but the version it replaces is unknown. Stop it with ` +
          `'aws deploy stop-deployment --deployment-id ${active.id} --auto-rollback-enabled'.`,
        ExitCode.FAILED,
      );
    }
    return { kind: 'stop', deploymentId: active.id, fromVersion: active.toVersion, toVersion: old };
  }

  const target =
    to !== undefined
      ? { version: to, source: 'given with --to' }
      : await findPreviousVersion(rt, outputs, state);
  if (!target) {
    throw new CliError(
      `No previous version of ${outputs.functionName}: version ${alias.version} is the only published version.`,
      ExitCode.NO_PREVIOUS_VERSION,
    );
  }
  if (target.version === alias.version && Object.keys(alias.weights).length === 0) {
    // Still validate that it exists so a typo is reported.
    await readVersionDeclaration(rt, outputs.functionName, target.version);
    return { kind: 'noop', version: target.version };
  }
  const [live, wanted] = await Promise.all([
    readVersionDeclaration(rt, outputs.functionName, alias.version),
    readVersionDeclaration(rt, outputs.functionName, target.version),
  ]);
  const verdict = checkSchemaCompatibility(live, wanted);
  let schema: SchemaVerdict & { skipped?: string } = verdict;
  if (verdict.verdict !== 'compatible') {
    if (!overrides.skipSchemaCheck) throw schemaRefusal(verdict);
    schema = { ...verdict, skipped: overrides.reason ?? '' };
  }
  const hooks: Record<string, string> = { ...outputs.hooks };
  const missing = Object.entries(HOOK_OUTPUTS).flatMap(([key, hook]) => (hooks[hook] ? [] : [key]));
  if (missing.length > 0 && !overrides.withoutHooks) {
    throw new CliError(
      `Refusing to roll back without the traffic hooks: ${outputs.stackName} does not export ${missing.join(' and ')} ` +
        '(deploy the current version of the app so that it does). To roll back without ' +
        `${missing.length === 1 ? 'it' : 'them'} anyway, re-run with ${HOOKS_OVERRIDE}. Nothing was changed.`,
      ExitCode.MISSING_STACK,
    );
  }
  return {
    kind: 'deploy',
    fromVersion: alias.version,
    toVersion: target.version,
    fromSchema: live.schema,
    toSchema: wanted.schema,
    schema,
    hooks,
    ...(missing.length > 0 ? { withoutHooks: overrides.reason ?? '' } : {}),
    source: target.source,
  };
}

function schemaRefusal(verdict: Exclude<SchemaVerdict, { verdict: 'compatible' }>): CliError {
  if (verdict.verdict === 'incompatible') {
    return new CliError(
      `Refusing to roll back: ${verdict.reason}. If the contract migration is not applied to the database ` +
        `(check: shipshape migrate status --env <env>), override with ${SCHEMA_OVERRIDE}. Nothing was changed.`,
      ExitCode.REFUSED,
    );
  }
  return new CliError(
    `Refusing to roll back: schema safety cannot be decided: ${verdict.reason}. Check by hand that the target ` +
      `works with the live schema, then re-run with ${SCHEMA_OVERRIDE}. Nothing was changed.`,
    ExitCode.REFUSED,
  );
}

/**
 * Human-readable lines describing a plan. A `stop` plan uses StopDeployment with
 * `autoRollbackEnabled`, after which CodeDeploy itself redeploys the last known good revision
 * (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_StopDeployment.html,
 * https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html);
 * the CLI cannot set that deployment's alarm configuration, so the plan says so.
 */
export function describePlan(plan: RollbackPlan, outputs: ServiceOutputs): string[] {
  if (plan.kind === 'stop') {
    return [
      `Stop deployment ${plan.deploymentId} (to version ${plan.fromVersion ?? '?'}) with automatic rollback and wait ` +
        `until version ${plan.toVersion} carries 100% of ${outputs.functionName}:${outputs.aliasName}.`,
      'Alarms: CodeDeploy creates the rollback deployment itself; its alarm configuration cannot be set by the CLI.',
    ];
  }
  return [
    `Shift ${outputs.functionName}:${outputs.aliasName} from version ${plan.fromVersion} to version ${plan.toVersion} ` +
      `(${plan.source}) all at once through CodeDeploy (${outputs.codeDeployApplication}/${outputs.deploymentGroupName}).`,
    plan.schema.skipped !== undefined
      ? `Schema: CHECK SKIPPED (--skip-schema-check, reason: ${plan.schema.skipped}); it would have said: ` +
        `${plan.schema.verdict === 'compatible' ? plan.schema.detail : plan.schema.reason}.`
      : `Schema: safe: ${plan.schema.verdict === 'compatible' ? plan.schema.detail : ''}.`,
    `Hooks (from the stack outputs): ${describeHooks(plan)}`,
    `Alarms: ${ALARM_OVERRIDE_REASON}.`,
  ];
}

function describeHooks(plan: Extract<RollbackPlan, { kind: 'deploy' }>): string {
  const older = Number(plan.toVersion) < Number(plan.fromVersion);
  const gate = plan.hooks.BeforeAllowTraffic;
  const smoke = plan.hooks.AfterAllowTraffic;
  const parts = [
    gate
      ? `BeforeAllowTraffic ${gate}: ` +
        (older
          ? `the target is older than the live version, so the gate applies no migration and self-tests version ${plan.toVersion}`
          : `the gate applies pending expand migrations (never a contract one) and self-tests version ${plan.toVersion}`)
      : 'NO migration gate',
    smoke ? `AfterAllowTraffic ${smoke}: smoke test through the alias` : 'NO smoke test',
  ];
  const override =
    plan.withoutHooks !== undefined
      ? ` (--without-hooks, reason: ${plan.withoutHooks}; /health is still checked)`
      : '';
  return `${parts.join('; ')}${override}.`;
}
