/**
 * The production-readiness checklist: the per-resource rules shared by the cdk-nag pack
 * {@link ProductionReadinessChecks} (every synth of an app that adds it) and `shipshape audit`
 * (any synthesized cloud assembly). The rules read template JSON, so both front ends run one
 * implementation and see L1 and L2 resources alike. Rules about the whole assembly (does any
 * alarm page a human, does every entry point have an alarm) need every stack at once and live in
 * the audit (assembly-rules.ts). Each rule is documented in RULES.md.
 */
import type { ReadinessRule } from './rule';
import { DATA_RULES } from './rules/data';
import { DEPLOY_RULES } from './rules/deploys';
import { EDGE_RULES } from './rules/edge';
import { SECRETS_AND_LOGS_RULES } from './rules/secrets-logs';
import { VISIBILITY_RULES } from './rules/visibility';

export * from './rule';
export * from './template';
export { classSwitchRatio, plaintextSecretReason, secretLookingValue, shannonEntropy } from './secret-values';
export { STATEFUL_RESOURCE_TYPES } from './rules/datastores';
export { isProductionEnvironment } from './production';

/** Every per-resource checklist rule, grouped (data, deploys, visibility, edge and auth, secrets and logs). */
export const READINESS_RULES: readonly ReadinessRule[] = [
  ...DATA_RULES,
  ...DEPLOY_RULES,
  ...VISIBILITY_RULES,
  ...EDGE_RULES,
  ...SECRETS_AND_LOGS_RULES,
];

/** The cdk-nag pack name; rule ids are `ProductionReadiness-<rule id>`. */
export const READINESS_PACK_NAME = 'ProductionReadiness';

/** `ProductionReadiness-<id>`. */
export function readinessRuleId(rule: { readonly id: string }): string {
  return `${READINESS_PACK_NAME}-${rule.id}`;
}

/** The validation plugin name of `@cdklabs/cdk-validator-cfnguard` (Control Tower rules). */
export const CFN_GUARD_PLUGIN = 'cdk-validator-cfnguard';

/** The id that acknowledges a cfn-guard rule: `cdk-validator-cfnguard::<rule name>`. */
export function guardRuleId(rule: string): string {
  return `${CFN_GUARD_PLUGIN}::${rule}`;
}
