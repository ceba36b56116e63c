import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CfnResource,
  type IPolicyValidationContext,
  type PolicyValidationPluginReport,
  Stack,
  Stage,
  Validations,
} from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, type NagPackProps, NagRuleCompliance } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { decideProduction } from './production';
import {
  compositeAlarmInputsOf,
  fixFor,
  DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS,
  isObject,
  type JsonObject,
  READINESS_PACK_NAME,
  READINESS_RULES,
  readinessRuleId,
  type ReadinessRule,
  type TemplateContext,
  type TemplateResource,
  templateResources,
  toTemplateResource,
} from './readiness-rules';

const BACKUP_TYPES = ['AWS::Backup::BackupSelection', 'AWS::Backup::RestoreTestingSelection'];

/** Props of {@link ProductionReadinessChecks}. */
export interface ProductionReadinessChecksProps extends NagPackProps {
  /**
   * Minimum automated backup retention of an RDS database, in days.
   * @default 7
   */
  readonly minimumBackupRetentionDays?: number;

  /**
   * Treat every stack as production (`true`) or none (`false`): Multi-AZ and deletion
   * protection are then required (or not) everywhere.
   * @default - per stack: its `Environment` tag, else its stage or stack name (`Production`, `my-app-prod`)
   */
  readonly production?: boolean;
}

/** A stack whose template is known, with its parsed resources. */
interface StackTemplate {
  readonly resources: Map<string, TemplateResource>;
}

/** The internal CfnElement method every CDK version has; used only when no template file exists. */
interface RendersCloudFormation {
  _toCloudFormation(): object;
}

function rendersCloudFormation(x: object): x is RendersCloudFormation {
  return typeof (x as Partial<RendersCloudFormation>)._toCloudFormation === 'function';
}

/**
 * The production-readiness checklist as a cdk-nag (v3) rule pack, usable by any CDK app:
 *
 * ```ts
 * Validations.of(app).addPlugins(new ProductionReadinessChecks(app, { minimumBackupRetentionDays: 14 }));
 * ```
 *
 * Rule ids are `ProductionReadiness-<Rule>` (see lib/policy/RULES.md); acknowledge a finding next
 * to its resource with `Validations.of(resource).acknowledge({ id, reason })`.
 *
 * The rules read the synthesized template of each stack (the validation context's template
 * files), so they see what CloudFormation will see, L1 or L2 alike, including relations between
 * resources (an alias and its deployment group, a distribution and its web ACL, composite alarm
 * inputs anywhere in the assembly). `shipshape audit` runs the same rules over a cloud assembly.
 */
export class ProductionReadinessChecks extends NagPack {
  public readonly name = READINESS_PACK_NAME;
  private readonly minimumBackupRetentionDays: number;
  private readonly production?: boolean;
  private templatesByPath = new Map<string, JsonObject>();
  private compositeInputs = new Set<string>();
  /** AWS Backup selections of every template, with the template they come from. */
  private backupResources: Array<{ template: Map<string, TemplateResource>; resource: TemplateResource }> =
    [];
  private readonly stackTemplates = new Map<Stack, StackTemplate>();

  constructor(scope?: IConstruct, props: ProductionReadinessChecksProps = {}) {
    super(scope, props);
    this.packName = READINESS_PACK_NAME;
    const days = props.minimumBackupRetentionDays ?? DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS;
    if (!Number.isInteger(days) || days < 1 || days > 35) {
      throw new Error(
        `ProductionReadinessChecks: minimumBackupRetentionDays must be a whole number of days from 1 to 35 ` +
          `(the RDS maximum), got ${days}. Pass e.g. { minimumBackupRetentionDays: 7 }.`,
      );
    }
    this.minimumBackupRetentionDays = days;
    this.production = props.production;
  }

  public override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    this.reset();
    for (const path of context.templatePaths) {
      const template = JSON.parse(readFileSync(path, 'utf8')) as JsonObject;
      this.templatesByPath.set(resolve(path), template);
      const resources = templateResources(template);
      compositeAlarmInputsOf(resources.values(), this.compositeInputs);
      this.collectBackupResources(resources);
    }
    return super.validate(context);
  }

  public override validateScope(scope: IConstruct): PolicyValidationPluginReport {
    // Direct invocation (tests, older CDK): no template files, rendered from the tree instead.
    if (this.templatesByPath.size === 0) this.reset();
    const report = super.validateScope(scope);
    this.reset();
    return report;
  }

  private reset(): void {
    this.templatesByPath = new Map();
    this.compositeInputs = new Set();
    this.backupResources = [];
    this.stackTemplates.clear();
  }

  private collectBackupResources(resources: Map<string, TemplateResource>): void {
    for (const resource of resources.values()) {
      if (BACKUP_TYPES.includes(resource.type)) this.backupResources.push({ template: resources, resource });
    }
  }

  protected checkResource(node: CfnResource): void {
    const stack = Stack.of(node);
    const template = this.templateOf(stack);
    const resource = template.resources.get(stack.resolve(node.logicalId) as string);
    if (!resource) return; // a resource removed from the template (e.g. by a condition-less override)
    const stage = Stage.of(stack);
    const production = decideProduction({
      flag: this.production,
      tags: stack.tags.tagValues(),
      stageName: stage && !Stage.isStage(stack) && stage.stageName !== '' ? stage.stageName : undefined,
      stackNames: [stack.node.path, stack.stackName],
    }).production;
    const context: TemplateContext = {
      resources: template.resources,
      production,
      compositeAlarmInputs: this.compositeInputs,
      remoteBackupResources: this.backupResources
        .filter((b) => b.template !== template.resources)
        .map((b) => b.resource),
    };
    const options = { minimumBackupRetentionDays: this.minimumBackupRetentionDays };
    for (const rule of READINESS_RULES) {
      if (!rule.resourceTypes.includes(resource.type)) continue;
      const checked = rule.check(resource, context, options);
      // A finding acknowledged under an equivalent rule of another pack (AwsSolutions-SMG4 for
      // SecretRotation) carries its reason there; it is not reported twice.
      const result =
        checked.status === 'non-compliant' && acknowledgedAsEquivalent(node, rule)
          ? { status: 'not-applicable' as const }
          : checked;
      this.applyRule({
        ruleSuffixOverride: rule.id,
        info:
          result.status === 'non-compliant'
            ? `${rule.title}: ${result.reasons.join('; ')}. [${rule.severity}, ${rule.group}]`
            : rule.title,
        explanation: `${rule.why} Fix: ${fixFor(rule, resource.type, result)}`,
        level: rule.severity === 'cleanup' ? NagMessageLevel.WARN : NagMessageLevel.ERROR,
        node,
        rule: () =>
          result.status === 'non-compliant'
            ? NagRuleCompliance.NON_COMPLIANT
            : result.status === 'compliant'
              ? NagRuleCompliance.COMPLIANT
              : NagRuleCompliance.NOT_APPLICABLE,
      });
    }
  }

  /** The parsed template of a stack: its synthesized file when there is one, else rendered. */
  private templateOf(stack: Stack): StackTemplate {
    const cached = this.stackTemplates.get(stack);
    if (cached) return cached;
    const stage = Stage.of(stack);
    const file = stage ? this.templatesByPath.get(resolve(stage.outdir, stack.templateFile)) : undefined;
    const resources = file ? templateResources(file) : this.renderResources(stack);
    if (!file) {
      compositeAlarmInputsOf(resources.values(), this.compositeInputs);
      this.collectBackupResources(resources);
    }
    const result = { resources };
    this.stackTemplates.set(stack, result);
    return result;
  }

  private renderResources(stack: Stack): Map<string, TemplateResource> {
    const out = new Map<string, TemplateResource>();
    const visit = (construct: IConstruct): void => {
      if (CfnResource.isCfnResource(construct) && rendersCloudFormation(construct)) {
        const rendered = stack.resolve(construct._toCloudFormation()) as JsonObject;
        const resources = isObject(rendered.Resources) ? rendered.Resources : {};
        for (const [logicalId, raw] of Object.entries(resources)) {
          if (isObject(raw)) out.set(logicalId, toTemplateResource(logicalId, raw));
        }
      }
      for (const child of construct.node.children) {
        if (!Stack.isStack(child)) visit(child);
      }
    };
    visit(stack);
    return out;
  }
}

/** Whether the resource (or an ancestor) acknowledges an equivalent of the rule, under its id there. */
function acknowledgedAsEquivalent(node: CfnResource, rule: ReadinessRule): boolean {
  const ids = new Set(rule.equivalents ?? []);
  ids.delete(readinessRuleId(rule));
  if (ids.size === 0) return false;
  for (let current: IConstruct | undefined = node; current; current = current.node.scope) {
    for (const entry of current.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !isObject(entry.data as JsonObject))
        continue;
      for (const id of Object.keys(entry.data as JsonObject))
        if (ids.has(id.replace(/^annotation::/i, ''))) return true;
    }
  }
  return false;
}
