import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CfnResource,
  type IPolicyValidationContext,
  type PolicyValidationPluginReport,
  Stack,
  Stage,
} from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, type NagPackProps, NagRuleCompliance } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import {
  compositeAlarmInputsOf,
  DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS,
  ENVIRONMENT_TAG,
  isObject,
  isProductionEnvironment,
  type JsonObject,
  READINESS_PACK_NAME,
  READINESS_RULES,
  type TemplateContext,
  type TemplateResource,
  templateResources,
  toTemplateResource,
} from './readiness-rules';

/** Props of {@link ProductionReadinessChecks}. */
export interface ProductionReadinessChecksProps extends NagPackProps {
  /**
   * Minimum automated backup retention of an RDS database, in days.
   * @default 7
   */
  readonly minimumBackupRetentionDays?: number;

  /**
   * Treat every stack as production (deletion protection required on databases).
   * @default - a stack is production when its `Environment` tag is `production` or `prod`
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
      compositeAlarmInputsOf(templateResources(template).values(), this.compositeInputs);
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
    this.stackTemplates.clear();
  }

  protected checkResource(node: CfnResource): void {
    const stack = Stack.of(node);
    const template = this.templateOf(stack);
    const resource = template.resources.get(stack.resolve(node.logicalId) as string);
    if (!resource) return; // a resource removed from the template (e.g. by a condition-less override)
    const context: TemplateContext = {
      resources: template.resources,
      production: this.production ?? isProductionEnvironment(stack.tags.tagValues()[ENVIRONMENT_TAG]),
      compositeAlarmInputs: this.compositeInputs,
    };
    const options = { minimumBackupRetentionDays: this.minimumBackupRetentionDays };
    for (const rule of READINESS_RULES) {
      if (!rule.resourceTypes.includes(resource.type)) continue;
      const result = rule.check(resource, context, options);
      this.applyRule({
        ruleSuffixOverride: rule.id,
        info: result.status === 'non-compliant' ? `${rule.title}: ${result.reasons.join('; ')}.` : rule.title,
        explanation: `${rule.why} Fix: ${rule.fix}`,
        level: NagMessageLevel.ERROR,
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
    if (!file) compositeAlarmInputsOf(resources.values(), this.compositeInputs);
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
