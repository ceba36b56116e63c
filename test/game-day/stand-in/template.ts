/**
 * A synthesized CloudFormation template, deployed into the stand-in: intrinsic functions are
 * resolved the way CloudFormation resolves them at deploy time, against the stand-in's physical
 * names (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html).
 * Physical names are derived from logical ids, so a resolved alarm dimension names exactly the
 * function, alias or API the stand-in records metrics for. An intrinsic the stand-in does not
 * know fails loudly: an alarm that only looks right is worse than no test.
 */

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
  readonly DependsOn?: string[];
  readonly UpdatePolicy?: Record<string, Json>;
}
export interface TemplateJson {
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<string, { Value: Json }>;
}

/** What the deploy-time attributes resolve to (the parts that change between deployments). */
export interface DeployState {
  /** Version number CloudFormation last published for each AWS::Lambda::Version logical id. */
  readonly publishedVersion: (versionLogicalId: string) => string;
  /** `Fn::ImportValue` exports of other stacks (the stateful stack's database endpoint). */
  readonly importValue: (exportName: string) => string;
}

export class DeployedTemplate {
  constructor(
    public readonly stackName: string,
    public readonly template: TemplateJson,
    private readonly state: DeployState,
  ) {}

  public resource(logicalId: string): Resource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`template ${this.stackName}: no resource ${logicalId}`);
    return resource;
  }

  /** Logical ids of every resource of `type`. */
  public ofType(type: string): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
  }

  /** The one resource of `type` whose logical id starts with `prefix`. */
  public only(type: string, prefix: string): string {
    const ids = this.ofType(type).filter((id) => id.startsWith(prefix));
    if (ids.length !== 1)
      throw new Error(`template ${this.stackName}: ${ids.length} ${type} named ${prefix}*`);
    return ids[0];
  }

  /** Physical name of a resource (what `Ref` returns for most types). */
  public physicalName(logicalId: string): string {
    const r = this.resource(logicalId);
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::CloudWatch::Alarm':
      case 'AWS::CloudWatch::CompositeAlarm':
        return typeof p.AlarmName === 'string' ? p.AlarmName : `${this.stackName}-${logicalId}`;
      case 'AWS::CodeDeploy::DeploymentConfig':
        return typeof p.DeploymentConfigName === 'string'
          ? p.DeploymentConfigName
          : `${this.stackName}-${logicalId}`;
      default:
        return `${this.stackName}-${logicalId}`;
    }
  }

  /** Resolves every intrinsic function in `value`. */
  public resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(keys[0], value[keys[0]]);
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(value[k])]));
  }

  public resolveString(value: Json): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string' && typeof resolved !== 'number') {
      throw new Error(`template ${this.stackName}: expected a string, got ${JSON.stringify(resolved)}`);
    }
    return String(resolved);
  }

  private intrinsic(name: string, arg: Json): Json {
    switch (name) {
      case 'Ref':
        return this.ref(String(arg));
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split('.');
        return this.getAtt(id, attribute);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, Json[]];
        return (this.resolve(parts) as Json[]).map(String).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [Json, Json];
        return (this.resolve(list) as Json[])[Number(this.resolve(index))];
      }
      case 'Fn::Split': {
        const [separator, source] = arg as [string, Json];
        return this.resolveString(source).split(separator);
      }
      case 'Fn::ImportValue': {
        const exportName = this.resolveString(arg);
        return this.state.importValue(exportName);
      }
      default:
        throw new Error(`template ${this.stackName}: the stand-in does not resolve ${name}`);
    }
  }

  private ref(id: string): Json {
    if (id === 'AWS::Region') return REGION;
    if (id === 'AWS::AccountId') return ACCOUNT;
    if (id === 'AWS::Partition') return 'aws';
    if (id === 'AWS::StackName') return this.stackName;
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    const r = this.resource(id);
    switch (r.Type) {
      // Ref of a version is its qualified ARN
      // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-version.html).
      case 'AWS::Lambda::Version': {
        const fn = this.resolveString(r.Properties!.FunctionName);
        return `${functionArn(fn)}:${this.state.publishedVersion(id)}`;
      }
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${REGION}:${ACCOUNT}:${this.physicalName(id)}`;
      case 'AWS::SecretsManager::Secret':
        return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${this.physicalName(id)}-AbCdEf`;
      default:
        return this.physicalName(id);
    }
  }

  private getAtt(id: string, attribute: string): Json {
    const r = this.resource(id);
    if (r.Type === 'AWS::Lambda::Version' && attribute === 'Version') return this.state.publishedVersion(id);
    if (attribute === 'Arn') {
      if (r.Type === 'AWS::CloudWatch::Alarm' || r.Type === 'AWS::CloudWatch::CompositeAlarm') {
        return alarmArn(this.physicalName(id));
      }
      if (r.Type === 'AWS::Lambda::Function') return functionArn(this.physicalName(id));
      return `arn:aws:${r.Type.split('::')[1].toLowerCase()}:${REGION}:${ACCOUNT}:${this.physicalName(id)}`;
    }
    if (r.Type === 'AWS::CloudFront::Distribution' && attribute === 'DomainName') {
      return `${this.physicalName(id)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '')}.cloudfront.net`;
    }
    // Any other attribute only travels into outputs nobody in the game day reads.
    return `${this.physicalName(id)}.${attribute}`;
  }
}

export function functionArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
}

export function alarmArn(name: string): string {
  return `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name}`;
}
