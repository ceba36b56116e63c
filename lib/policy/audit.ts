/**
 * The production-readiness audit of a synthesized cloud assembly (`cdk.out`): the same rules
 * as {@link ProductionReadinessChecks}, run over the manifest and templates alone, so it works on
 * any CDK app (any language, any version) without its construct tree.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  compositeAlarmInputsOf,
  ENVIRONMENT_TAG,
  isObject,
  isProductionEnvironment,
  type JsonObject,
  type JsonValue,
  READINESS_RULES,
  type ReadinessOptions,
  readinessRuleId,
  type TemplateResource,
  templateResources,
} from './readiness-rules';

/** Options of {@link auditAssembly}. */
export interface AuditOptions extends ReadinessOptions {
  /**
   * Treat every stack as production.
   * @default - a stack is production when its `Environment` tag is `production` or `prod`
   */
  readonly production?: boolean;
}

/** A resource a check found wanting. */
export interface AuditOffender {
  readonly logicalId: string;
  /** The construct path (`aws:cdk:path` metadata), when the template carries it. */
  readonly path?: string;
  readonly reasons: readonly string[];
}

/** A finding acknowledged in the template (`cdk_nag.rules_to_suppress` metadata). */
export interface AuditAcknowledged {
  readonly logicalId: string;
  readonly path?: string;
  readonly reason: string;
}

/** One checklist item on one stack. */
export interface AuditCheck {
  readonly rule: string;
  readonly title: string;
  readonly fix: string;
  /** `not-applicable` when the stack has no resource the rule looks at. */
  readonly status: 'pass' | 'fail' | 'not-applicable';
  /** How many resources the rule looked at. */
  readonly checked: number;
  readonly offenders: readonly AuditOffender[];
  readonly acknowledged: readonly AuditAcknowledged[];
}

/** The audit of one stack. */
export interface AuditedStack {
  /** The stack's display name (`Staging/Stateful`) or artifact id. */
  readonly name: string;
  readonly templateFile: string;
  readonly production: boolean;
  readonly checks: readonly AuditCheck[];
}

/** The whole report. */
export interface AuditReport {
  readonly assembly: string;
  readonly stacks: readonly AuditedStack[];
  /** Applicable checks (rule × stack) that passed. */
  readonly passed: number;
  /** Applicable checks (rule × stack) that failed. */
  readonly failed: number;
  /** Passed / applicable, as a whole percentage (100 when nothing applies). */
  readonly score: number;
  readonly ok: boolean;
}

/** The assembly directory is missing or is not a cloud assembly. */
export class AssemblyError extends Error {}

interface StackArtifact {
  readonly name: string;
  readonly templatePath: string;
  readonly templateFile: string;
  readonly tags: Record<string, string>;
}

/** Reads every stack artifact of an assembly, descending into nested assemblies (stages). */
export function readStackArtifacts(assemblyDir: string): StackArtifact[] {
  const dir = resolve(assemblyDir);
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AssemblyError(
      `${assemblyDir} is not a directory. Pass the output of \`cdk synth\` (usually cdk.out).`,
    );
  }
  if (!existsSync(manifestPath)) {
    throw new AssemblyError(
      `${assemblyDir} has no manifest.json: not a cloud assembly. Run \`cdk synth\` first.`,
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as JsonObject;
  const artifacts = isObject(manifest.artifacts) ? manifest.artifacts : {};
  const out: StackArtifact[] = [];
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (!isObject(artifact)) continue;
    const properties = isObject(artifact.properties) ? artifact.properties : {};
    if (artifact.type === 'aws:cloudformation:stack' && typeof properties.templateFile === 'string') {
      const tags: Record<string, string> = {};
      if (isObject(properties.tags)) {
        for (const [k, v] of Object.entries(properties.tags)) if (typeof v === 'string') tags[k] = v;
      }
      out.push({
        name: typeof artifact.displayName === 'string' ? artifact.displayName : id,
        templatePath: join(dir, properties.templateFile),
        templateFile: properties.templateFile,
        tags,
      });
    } else if (artifact.type === 'cdk:cloud-assembly' && typeof properties.directoryName === 'string') {
      out.push(...readStackArtifacts(join(dir, properties.directoryName)));
    }
  }
  return out;
}

/** Rule ids acknowledged on a resource in its template metadata, with their reasons. */
function acknowledgementsOf(resource: TemplateResource): Map<string, string> {
  const out = new Map<string, string>();
  const nag = resource.metadata.cdk_nag;
  const list: JsonValue | undefined = isObject(nag) ? nag.rules_to_suppress : undefined;
  if (!Array.isArray(list)) return out;
  for (const entry of list) {
    if (isObject(entry) && typeof entry.id === 'string') {
      out.set(entry.id, typeof entry.reason === 'string' ? entry.reason : '');
    }
  }
  return out;
}

function pathOf(resource: TemplateResource): string | undefined {
  const path = resource.metadata['aws:cdk:path'];
  return typeof path === 'string' ? path : undefined;
}

/** Runs the checklist over every stack of an assembly. */
export function auditAssembly(assemblyDir: string, options: AuditOptions = {}): AuditReport {
  const stacks = readStackArtifacts(assemblyDir).map((artifact) => ({
    artifact,
    resources: templateResources(JSON.parse(readFileSync(artifact.templatePath, 'utf8')) as JsonObject),
  }));
  // Composite alarms may live in another stack than their inputs: collect them assembly-wide.
  const compositeAlarmInputs = new Set<string>();
  for (const { resources } of stacks) compositeAlarmInputsOf(resources.values(), compositeAlarmInputs);

  const audited: AuditedStack[] = stacks.map(({ artifact, resources }) => {
    const production = options.production ?? isProductionEnvironment(artifact.tags[ENVIRONMENT_TAG]);
    const context = { resources, production, compositeAlarmInputs };
    const checks = READINESS_RULES.map((rule): AuditCheck => {
      const offenders: AuditOffender[] = [];
      const acknowledged: AuditAcknowledged[] = [];
      let checked = 0;
      for (const resource of resources.values()) {
        if (!rule.resourceTypes.includes(resource.type)) continue;
        const result = rule.check(resource, context, options);
        if (result.status === 'not-applicable') continue;
        checked += 1;
        if (result.status === 'compliant') continue;
        const ack = acknowledgementsOf(resource).get(readinessRuleId(rule));
        if (ack !== undefined) {
          acknowledged.push({ logicalId: resource.logicalId, path: pathOf(resource), reason: ack });
        } else {
          offenders.push({ logicalId: resource.logicalId, path: pathOf(resource), reasons: result.reasons });
        }
      }
      const status = checked === 0 ? 'not-applicable' : offenders.length > 0 ? 'fail' : 'pass';
      return {
        rule: readinessRuleId(rule),
        title: rule.title,
        fix: rule.fix,
        status,
        checked,
        offenders,
        acknowledged,
      };
    });
    return { name: artifact.name, templateFile: artifact.templateFile, production, checks };
  });

  const all = audited.flatMap((s) => s.checks);
  const passed = all.filter((c) => c.status === 'pass').length;
  const failed = all.filter((c) => c.status === 'fail').length;
  const score = passed + failed === 0 ? 100 : Math.floor((100 * passed) / (passed + failed));
  return { assembly: resolve(assemblyDir), stacks: audited, passed, failed, score, ok: failed === 0 };
}

/** The human-readable report: per stack, each check with its offenders and the fix. */
export function formatAuditReport(report: AuditReport, { verbose = false } = {}): string {
  const lines: string[] = [`Production-readiness audit of ${report.assembly}`, ''];
  for (const stack of report.stacks) {
    lines.push(`${stack.name}${stack.production ? ' (production)' : ''}  [${stack.templateFile}]`);
    for (const check of stack.checks) {
      if (check.status === 'not-applicable' && !verbose) continue;
      const mark = check.status === 'pass' ? 'PASS' : check.status === 'fail' ? 'FAIL' : ' n/a';
      const count = check.status === 'not-applicable' ? '' : ` (${check.checked} checked)`;
      lines.push(`  ${mark}  ${check.rule}: ${check.title}${count}`);
      for (const o of check.offenders) {
        lines.push(`          ${o.logicalId}${o.path ? ` (${o.path})` : ''}: ${o.reasons.join('; ')}`);
      }
      if (check.offenders.length > 0) lines.push(`          fix: ${check.fix}`);
      for (const a of check.acknowledged) {
        lines.push(`          acknowledged ${a.logicalId}${a.path ? ` (${a.path})` : ''}: ${a.reason}`);
      }
    }
    lines.push('');
  }
  lines.push(
    `Score: ${report.score}% (${report.passed} passed, ${report.failed} failed of ${report.passed + report.failed} applicable checks ` +
      `over ${report.stacks.length} stack${report.stacks.length === 1 ? '' : 's'})`,
  );
  lines.push(report.ok ? 'Result: READY' : 'Result: NOT READY');
  return lines.join('\n');
}
