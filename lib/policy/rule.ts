/**
 * What a readiness rule is: its group and severity (the order the launch checklist is worked
 * in), its checklist reason, its fix, and the check itself. Per-resource rules
 * ({@link ReadinessRule}) are shared by the cdk-nag pack and the audit; rules about the whole
 * assembly live in the audit (assembly-rules.ts).
 */
import type { JsonValue, TemplateResource } from './template';

/**
 * How much a finding stands in the way of launch, in the order the checklist is worked:
 * blockers first (data loss, no way back, nobody told), hardening next, cleanup after.
 */
export type Severity = 'blocker' | 'hardening' | 'cleanup';
export const SEVERITIES: readonly Severity[] = ['blocker', 'hardening', 'cleanup'];

/** Weight of a check in the readiness score: one blocker outweighs ten cleanup items. */
export const SEVERITY_WEIGHT: Readonly<Record<Severity, number>> = { blocker: 10, hardening: 3, cleanup: 1 };

/** The checklist groups, in report order. */
export type RuleGroup = 'data' | 'deploys' | 'visibility' | 'edge-and-auth' | 'secrets-and-logs';
export const RULE_GROUPS: readonly RuleGroup[] = [
  'data',
  'deploys',
  'visibility',
  'edge-and-auth',
  'secrets-and-logs',
];
export const GROUP_TITLES: Readonly<Record<RuleGroup, string>> = {
  data: 'Data',
  deploys: 'Deploys',
  visibility: 'Visibility',
  'edge-and-auth': 'Edge and auth',
  'secrets-and-logs': 'Secrets and logs',
};

/** What every rule, per-resource or assembly-wide, tells about itself. */
export interface RuleInfo {
  /** Stable id; the cdk-nag rule id is `ProductionReadiness-<id>`. */
  readonly id: string;
  readonly group: RuleGroup;
  readonly severity: Severity;
  /** One-line summary of what a compliant app looks like. */
  readonly title: string;
  /** Why it matters in production. */
  readonly why: string;
  /** The launch-checklist item it comes from (lib/policy/RULES.md lists them). */
  readonly seed: string;
  /** How to fix a finding (L2 props; plain CDK beside any Shipshape construct). */
  readonly fix: string;
  /**
   * The fix for one resource type, where the rule covers several (`AWS::DynamoDB::Table` →
   * `pointInTimeRecoverySpecification`): a finding shows the fix for its own resource.
   */
  readonly fixByType?: Readonly<Record<string, string>>;
  /**
   * Ids of other packs' rules about the same thing (`AwsSolutions-SMG4`). A finding acknowledged
   * under one of them, with its reason, counts as acknowledged here too.
   */
  readonly equivalents?: readonly string[];
}

/** The outcome of one rule on one resource. `fix` replaces the rule's fix where context changes it. */
export type RuleResult =
  | { readonly status: 'not-applicable' }
  | { readonly status: 'compliant' }
  | { readonly status: 'non-compliant'; readonly reasons: readonly string[]; readonly fix?: string };

/** What a per-resource rule may look at beyond the resource itself. */
export interface TemplateContext {
  /** Every resource of the resource's own template, by logical id. */
  readonly resources: ReadonlyMap<string, TemplateResource>;
  /** Whether the stack is treated as production (production-only rules apply). */
  readonly production: boolean;
  /**
   * Logical ids and literal names of alarms that some composite alarm of the assembly takes
   * as input. They may notify through the composite alarm instead of their own actions.
   */
  readonly compositeAlarmInputs: ReadonlySet<string>;
  /**
   * AWS Backup selections and restore testing selections of the other templates of the
   * assembly (those of this template are in `resources`): a tag-based selection elsewhere can
   * cover a resource here.
   */
  readonly remoteBackupResources: readonly TemplateResource[];
}

/** Settings of the checklist. */
export interface ReadinessOptions {
  /**
   * Minimum automated backup retention of an RDS database, in days.
   * @default 7
   */
  readonly minimumBackupRetentionDays?: number;
}

/** One per-resource checklist item: shared by the cdk-nag pack and the audit. */
export interface ReadinessRule extends RuleInfo {
  /** The resource types the rule looks at (documentation and a cheap pre-filter). */
  readonly resourceTypes: readonly string[];
  readonly check: (
    resource: TemplateResource,
    context: TemplateContext,
    options: ReadinessOptions,
  ) => RuleResult;
}

/** Default minimum backup retention (days). */
export const DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS = 7;

/**
 * The tag (or CloudFormation Metadata key) that declares a restore test covering a datastore,
 * other than the ones the audit can see (ours tags what it tests; AWS Backup restore testing is
 * read from the template).
 */
export const RESTORE_VERIFIED_MARKER = 'shipshape:restore-verified';

/** The metadata key (or tag) that declares a route public on purpose, with the reason as value. */
export const PUBLIC_ROUTE_MARKER = 'shipshape:public-route';

/** The stack or resource tag that makes the production-only rules apply. */
export const ENVIRONMENT_TAG = 'Environment';

export const OK: RuleResult = { status: 'compliant' };
export const NA: RuleResult = { status: 'not-applicable' };
export function fail(...reasons: string[]): RuleResult {
  return { status: 'non-compliant', reasons };
}
export function verdict(reasons: readonly string[], fix?: string): RuleResult {
  return reasons.length === 0 ? OK : { status: 'non-compliant', reasons, fix };
}

/** Whether a marker (tag or metadata key) is set to something other than empty or false. */
export function declared(resource: TemplateResource, marker: string): string | undefined {
  const tags = resource.properties.Tags;
  let tag: JsonValue | undefined;
  if (Array.isArray(tags)) {
    for (const t of tags) {
      if (typeof t === 'object' && t !== null && !Array.isArray(t) && t.Key === marker) tag = t.Value;
    }
  } else if (typeof tags === 'object' && tags !== null) {
    tag = tags[marker];
  }
  const meta = resource.metadata[marker];
  for (const value of [meta, tag]) {
    if (value === undefined || value === null || value === false || value === 'false') continue;
    if (typeof value === 'string' && value.trim() === '') continue;
    return typeof value === 'string' ? value : 'yes';
  }
  return undefined;
}

/** The fix to show for a finding: the result's own, else the one for the resource type, else the rule's. */
export function fixFor(rule: RuleInfo, resourceType: string | undefined, result?: RuleResult): string {
  if (result?.status === 'non-compliant' && result.fix) return result.fix;
  return (resourceType ? rule.fixByType?.[resourceType] : undefined) ?? rule.fix;
}
