/**
 * The production-readiness audit of a synthesized cloud assembly (`cdk.out`): the per-resource
 * rules the cdk-nag pack runs, plus the assembly-wide rules, over the manifest and templates
 * alone, so it works on any CDK app (any language, any version) without its construct tree.
 * Findings are ordered as the checklist is worked: blockers, hardening, cleanup.
 */
import { resolve } from 'node:path';
import {
  acknowledgementsOf,
  AssemblyError,
  AssemblyReferences,
  readAssembly,
  type AssemblyStack,
} from './assembly';
import { ASSEMBLY_RULES } from './assembly-rules';
import { decideProduction } from './production';
import { READINESS_RULES, readinessRuleId } from './readiness-rules';
import {
  fixFor,
  RULE_GROUPS,
  type RuleGroup,
  type RuleInfo,
  type RuleResult,
  type ReadinessOptions,
  SEVERITIES,
  SEVERITY_WEIGHT,
  type Severity,
  type TemplateContext,
} from './rule';
import { compositeAlarmInputsOf, pathOf, type TemplateResource } from './template';

export { AssemblyError };

/** Options of {@link auditAssembly}. */
export interface AuditOptions extends ReadinessOptions {
  /**
   * Treat every stack as production.
   * @default - per stack: an environment tag, else the stage or stack name (see RULES.md)
   */
  readonly production?: boolean;
  /**
   * Stack names (display or CloudFormation names, `*` wildcards) to treat as production.
   * @default - none
   */
  readonly productionStacks?: readonly string[];
}

/** A resource (or, for assembly-wide rules, the assembly) a rule found wanting. */
export interface AuditFinding {
  /** `ProductionReadiness-<id>`. */
  readonly rule: string;
  readonly title: string;
  readonly group: RuleGroup;
  readonly severity: Severity;
  /** Absent for findings about the whole assembly. */
  readonly stack?: string;
  readonly templateFile?: string;
  readonly logicalId?: string;
  /** The construct path (`aws:cdk:path` metadata), when the template carries it. */
  readonly path?: string;
  readonly reasons: readonly string[];
  /** The fix, in this context. */
  readonly fix: string;
}

/** A finding acknowledged next to its resource, with the id it was acknowledged under. */
export interface AuditAcknowledged {
  readonly rule: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly path?: string;
  readonly acknowledgedAs: string;
  readonly reason: string;
}

/** How a stack was classified. */
export interface AuditedStack {
  readonly name: string;
  /** The template file, relative to its (possibly nested) assembly directory. */
  readonly templateFile: string;
  /** The template file's absolute path. */
  readonly templatePath: string;
  readonly production: boolean;
  /** Why it was (not) treated as production: flag, tag, stage or stack name. */
  readonly productionReason: string;
  /** Resources checked, over all rules. */
  readonly checked: number;
}

export interface AuditReport {
  readonly assembly: string;
  readonly stacks: readonly AuditedStack[];
  /** Every rule the audit ran (per-resource and assembly-wide), in report order. */
  readonly rules: readonly (RuleInfo & { readonly ruleId: string })[];
  /** Unacknowledged findings: blockers, then hardening, then cleanup; by group within each. */
  readonly findings: readonly AuditFinding[];
  readonly acknowledged: readonly AuditAcknowledged[];
  readonly counts: Readonly<Record<Severity, number>>;
  /** Severity-weighted share of checks passed (acknowledged ones count as passed), 0–100. */
  readonly score: number;
  /** `NOT READY` while any blocker stands. */
  readonly verdict: 'READY' | 'NOT READY';
}

interface Tally {
  total: number;
  passed: number;
}

/** Runs the checklist over every stack of an assembly. */
export function auditAssembly(assemblyDir: string, options: AuditOptions = {}): AuditReport {
  const stacks = readAssembly(assemblyDir);
  const references = new AssemblyReferences(stacks);
  const compositeAlarmInputs = new Set<string>();
  for (const s of stacks) compositeAlarmInputsOf(s.resources.values(), compositeAlarmInputs);
  const backupResources = stacks.flatMap((s) =>
    [...s.resources.values()]
      .filter(
        (r) => r.type === 'AWS::Backup::BackupSelection' || r.type === 'AWS::Backup::RestoreTestingSelection',
      )
      .map((r) => ({ stack: s, r })),
  );

  const findings: AuditFinding[] = [];
  const acknowledged: AuditAcknowledged[] = [];
  const tally: Tally = { total: 0, passed: 0 };
  const checkedByStack = new Map<AssemblyStack, number>();
  const record = (
    rule: RuleInfo,
    stack: AssemblyStack | undefined,
    resource: TemplateResource | undefined,
    result: RuleResult,
  ) => {
    if (result.status === 'not-applicable') return;
    const weight = SEVERITY_WEIGHT[rule.severity];
    tally.total += weight;
    if (stack) checkedByStack.set(stack, (checkedByStack.get(stack) ?? 0) + 1);
    if (result.status === 'compliant') {
      tally.passed += weight;
      return;
    }
    const ruleId = readinessRuleId(rule);
    if (stack && resource) {
      const acks = acknowledgementsOf(stack, resource);
      const as = [ruleId, ...(rule.equivalents ?? [])].find((id) => acks.has(id));
      if (as !== undefined) {
        tally.passed += weight;
        acknowledged.push({
          rule: ruleId,
          stack: stack.name,
          logicalId: resource.logicalId,
          path: pathOf(resource),
          acknowledgedAs: as,
          reason: acks.get(as) ?? '',
        });
        return;
      }
    }
    findings.push({
      rule: ruleId,
      title: rule.title,
      group: rule.group,
      severity: rule.severity,
      stack: stack?.name,
      templateFile: stack?.templateFile,
      logicalId: resource?.logicalId,
      path: resource ? pathOf(resource) : undefined,
      reasons: result.reasons,
      fix: fixFor(rule, resource?.type, result),
    });
  };

  const audited: AuditedStack[] = [];
  const productionOf = new Map<AssemblyStack, boolean>();
  for (const stack of stacks) {
    const decision = decideProduction({
      flag: options.production,
      namedStacks: options.productionStacks,
      tags: stack.tags,
      stageName: stack.stageName,
      stackNames: [stack.name, stack.stackName ?? stack.artifactId],
    });
    productionOf.set(stack, decision.production);
    audited.push({
      name: stack.name,
      templateFile: stack.templateFile,
      templatePath: stack.templatePath,
      production: decision.production,
      productionReason: decision.why,
      checked: 0,
    });
  }

  for (const stack of stacks) {
    const context: TemplateContext = {
      resources: stack.resources,
      production: productionOf.get(stack) ?? false,
      compositeAlarmInputs,
      remoteBackupResources: backupResources.filter((b) => b.stack !== stack).map((b) => b.r),
    };
    for (const rule of READINESS_RULES) {
      for (const resource of stack.resources.values()) {
        if (!rule.resourceTypes.includes(resource.type)) continue;
        record(rule, stack, resource, rule.check(resource, context, options));
      }
    }
  }
  const model = { stacks, references };
  for (const rule of ASSEMBLY_RULES) {
    for (const e of rule.evaluate(model)) record(rule, e.stack, e.resource, e.result);
  }

  const order = (f: AuditFinding) => SEVERITIES.indexOf(f.severity) * 10 + RULE_GROUPS.indexOf(f.group);
  findings.sort((a, b) => order(a) - order(b));
  const counts = { blocker: 0, hardening: 0, cleanup: 0 };
  for (const f of findings) counts[f.severity] += 1;
  const score = readinessScore(tally.passed, tally.total, findings.length > 0);
  const rules = [...READINESS_RULES, ...ASSEMBLY_RULES]
    .map((r) => ({
      fixByType: r.fixByType,
      id: r.id,
      group: r.group,
      severity: r.severity,
      title: r.title,
      why: r.why,
      seed: r.seed,
      fix: r.fix,
      equivalents: r.equivalents,
      ruleId: readinessRuleId(r),
    }))
    .sort(
      (a, b) =>
        SEVERITIES.indexOf(a.severity) * 10 +
        RULE_GROUPS.indexOf(a.group) -
        (SEVERITIES.indexOf(b.severity) * 10 + RULE_GROUPS.indexOf(b.group)),
    );
  return {
    assembly: resolve(assemblyDir),
    stacks: audited.map((s, i) => ({ ...s, checked: checkedByStack.get(stacks[i]) ?? 0 })),
    rules,
    findings,
    acknowledged,
    counts,
    score,
    verdict: counts.blocker > 0 ? 'NOT READY' : 'READY',
  };
}

/**
 * The severity-weighted share of checks passed, as a whole percentage: rounded to nearest
 * (2 of 3 is 67%, not 66%), but never 100 while a finding stands nor 0 while something passed.
 */
export function readinessScore(passedWeight: number, totalWeight: number, anyFinding: boolean): number {
  if (totalWeight === 0) return 100;
  const rounded = Math.round((100 * passedWeight) / totalWeight);
  if (!anyFinding) return rounded;
  return Math.min(99, Math.max(passedWeight > 0 ? 1 : 0, rounded));
}

/** Whether the report has a finding at or above a severity (`cleanup`: any finding). */
export function hasFindingsAtOrAbove(report: AuditReport, severity: Severity): boolean {
  const limit = SEVERITIES.indexOf(severity);
  return report.findings.some((f) => SEVERITIES.indexOf(f.severity) <= limit);
}
