/**
 * The production-readiness checklist as pure functions over CloudFormation template JSON.
 *
 * The same rules back two front ends: the cdk-nag pack {@link ProductionReadinessChecks} (runs on
 * every synth of an app that adds it) and `shipshape audit` (reads any synthesized cloud
 * assembly, with no construct instances at hand). Working on template JSON is what lets both
 * share one implementation and lets the checks see L1 and L2 resources alike.
 */

/** A JSON value as found in a CloudFormation template. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** One resource of a template, as the rules see it. */
export interface TemplateResource {
  readonly logicalId: string;
  readonly type: string;
  readonly properties: JsonObject;
  readonly metadata: JsonObject;
  readonly deletionPolicy?: string;
  readonly updateReplacePolicy?: string;
  readonly updatePolicy: JsonObject;
}

/** What a rule may look at beyond the resource itself: the rest of its template. */
export interface TemplateContext {
  /** Every resource of the template, by logical id. */
  readonly resources: ReadonlyMap<string, TemplateResource>;
  /** Whether the stack is a production stack (deletion protection is then required). */
  readonly production: boolean;
  /**
   * Logical ids and literal names of alarms that some composite alarm of the assembly takes
   * as input. They may notify through the composite alarm instead of their own actions.
   */
  readonly compositeAlarmInputs: ReadonlySet<string>;
}

/** Settings of the checklist. */
export interface ReadinessOptions {
  /**
   * Minimum automated backup retention of an RDS database, in days.
   * @default 7
   */
  readonly minimumBackupRetentionDays?: number;
}

/** The outcome of one rule on one resource. */
export type RuleResult =
  | { readonly status: 'not-applicable' }
  | { readonly status: 'compliant' }
  | { readonly status: 'non-compliant'; readonly reasons: readonly string[] };

/** One checklist item. */
export interface ReadinessRule {
  /** Stable id; the cdk-nag rule id is `ProductionReadiness-<id>`. */
  readonly id: string;
  /** One-line summary of what a compliant resource looks like. */
  readonly title: string;
  /** Why it matters in production. */
  readonly why: string;
  /** How to fix a non-compliant resource. */
  readonly fix: string;
  /** The resource types the rule looks at (documentation and a cheap pre-filter). */
  readonly resourceTypes: readonly string[];
  readonly check: (
    resource: TemplateResource,
    context: TemplateContext,
    options: ReadinessOptions,
  ) => RuleResult;
}

/** The tag (or CloudFormation Metadata key) that marks a database as covered by a restore test. */
export const RESTORE_VERIFIED_MARKER = 'shipshape:restore-verified';

/** The stack or resource tag that makes the production-only rules apply. */
export const ENVIRONMENT_TAG = 'Environment';

/** Default minimum backup retention (days). */
export const DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS = 7;

/**
 * Resource types that hold data a deletion would lose. Log groups, queues, secrets and KMS keys
 * are left out on purpose: logs and in-flight messages are transient, and deleting a secret or a
 * key is always scheduled (a 7 to 30 day window in which it can be cancelled). Whether a key
 * protects data is app knowledge: Shipshape's own template tests require production keys that
 * encrypt a data store to be retained.
 */
export const STATEFUL_RESOURCE_TYPES: readonly string[] = [
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::CacheCluster',
  'AWS::ElastiCache::ServerlessCache',
  'AWS::DynamoDB::Table',
  'AWS::DynamoDB::GlobalTable',
  'AWS::S3::Bucket',
  'AWS::EFS::FileSystem',
  'AWS::Cognito::UserPool',
  'AWS::DocDB::DBCluster',
  'AWS::Neptune::DBCluster',
  'AWS::OpenSearchService::Domain',
  'AWS::Backup::BackupVault',
];

const KEEPING_POLICIES = new Set(['Retain', 'Snapshot', 'RetainExceptOnCreate']);

const OK: RuleResult = { status: 'compliant' };
const NA: RuleResult = { status: 'not-applicable' };
function fail(...reasons: string[]): RuleResult {
  return { status: 'non-compliant', reasons };
}
function verdict(reasons: string[]): RuleResult {
  return reasons.length === 0 ? OK : { status: 'non-compliant', reasons };
}

// ---------------------------------------------------------------------------------------------
// Small helpers over template JSON

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The logical id a `Ref` or `Fn::GetAtt` points at, if the value is one. */
export function referencedLogicalId(value: JsonValue | undefined): string | undefined {
  if (!isObject(value)) return undefined;
  const ref = value.Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

/** Every logical id referenced (Ref / GetAtt / Sub) anywhere inside a value. */
export function referencedLogicalIds(value: JsonValue | undefined, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedLogicalIds(item, into);
  } else if (isObject(value)) {
    const direct = referencedLogicalId(value);
    if (direct) into.add(direct);
    const sub = value['Fn::Sub'];
    const subText =
      typeof sub === 'string' ? sub : Array.isArray(sub) && typeof sub[0] === 'string' ? sub[0] : '';
    for (const match of subText.matchAll(/\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}/g)) into.add(match[1]);
    for (const child of Object.values(value)) referencedLogicalIds(child, into);
  }
  return into;
}

/** Literal strings inside a value (the pieces of an `Fn::Join`, for instance). */
function literalStrings(value: JsonValue | undefined, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) literalStrings(item, into);
  else if (isObject(value)) for (const child of Object.values(value)) literalStrings(child, into);
  return into;
}

/** A boolean property, accepting CloudFormation's string spellings. */
function bool(value: JsonValue | undefined): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

/** A numeric property, accepting numeric strings; undefined when absent or not literal. */
function num(value: JsonValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/** The value of a tag in a resource's `Tags` (list of Key/Value or a map, both occur). */
export function tagValue(resource: TemplateResource, key: string): string | undefined {
  const tags = resource.properties.Tags;
  if (Array.isArray(tags)) {
    for (const tag of tags) {
      if (isObject(tag) && tag.Key === key && typeof tag.Value === 'string') return tag.Value;
    }
  } else if (isObject(tags) && typeof tags[key] === 'string') {
    return tags[key];
  }
  return undefined;
}

/** Whether an `Environment` tag value names production (`production`, `prod`, any case). */
export function isProductionEnvironment(value: string | undefined): boolean {
  return value !== undefined && /^prod(uction)?$/i.test(value.trim());
}

/** Builds a {@link TemplateResource} from a raw template entry. */
export function toTemplateResource(logicalId: string, raw: JsonObject): TemplateResource {
  return {
    logicalId,
    type: typeof raw.Type === 'string' ? raw.Type : '',
    properties: isObject(raw.Properties) ? raw.Properties : {},
    metadata: isObject(raw.Metadata) ? raw.Metadata : {},
    deletionPolicy: typeof raw.DeletionPolicy === 'string' ? raw.DeletionPolicy : undefined,
    updateReplacePolicy: typeof raw.UpdateReplacePolicy === 'string' ? raw.UpdateReplacePolicy : undefined,
    updatePolicy: isObject(raw.UpdatePolicy) ? raw.UpdatePolicy : {},
  };
}

/** Parses the `Resources` section of a template. */
export function templateResources(template: JsonObject): Map<string, TemplateResource> {
  const out = new Map<string, TemplateResource>();
  const resources = template.Resources;
  if (!isObject(resources)) return out;
  for (const [logicalId, raw] of Object.entries(resources)) {
    if (isObject(raw)) out.set(logicalId, toTemplateResource(logicalId, raw));
  }
  return out;
}

/** Logical ids and literal alarm names that composite alarms of these resources take as input. */
export function compositeAlarmInputsOf(
  resources: Iterable<TemplateResource>,
  into = new Set<string>(),
): Set<string> {
  for (const resource of resources) {
    if (resource.type !== 'AWS::CloudWatch::CompositeAlarm') continue;
    const rule = resource.properties.AlarmRule;
    referencedLogicalIds(rule, into);
    // Literal names: ALARM("name") / ALARM(name) / OK(...) / INSUFFICIENT_DATA(...)
    for (const text of literalStrings(rule)) {
      for (const m of text.matchAll(/\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)/g)) {
        const name = m[1].trim();
        into.add(name.startsWith('arn:') ? (name.split(':alarm:')[1] ?? name) : name);
      }
    }
  }
  return into;
}

// ---------------------------------------------------------------------------------------------
// The rules

const RDS_TYPES = ['AWS::RDS::DBInstance', 'AWS::RDS::DBCluster'];

/** A DB instance that is a cluster member or a read replica has no backups of its own. */
function ownsItsData(resource: TemplateResource): boolean {
  if (resource.type === 'AWS::RDS::DBCluster') return true;
  const p = resource.properties;
  return p.DBClusterIdentifier === undefined && p.SourceDBInstanceIdentifier === undefined;
}

const rdsBackups: ReadinessRule = {
  id: 'RDSBackups',
  title:
    'RDS databases keep automated backups (point-in-time recovery) for at least N days and copy tags to snapshots',
  why:
    'Automated backups are what point-in-time recovery restores from; with retention 0 there is no PITR, and a ' +
    'retention shorter than the time it takes to notice a bad write leaves nothing clean to restore. Snapshots ' +
    'without tags lose their owner and cost allocation.',
  fix:
    'Set BackupRetentionPeriod (L2: `backupRetention: Duration.days(n)`) to at least the minimum, and ' +
    'CopyTagsToSnapshot (L2: `copyTagsToSnapshot: true`).',
  resourceTypes: RDS_TYPES,
  check(resource, _context, options) {
    if (!RDS_TYPES.includes(resource.type) || !ownsItsData(resource)) return NA;
    const minimum = options.minimumBackupRetentionDays ?? DEFAULT_MINIMUM_BACKUP_RETENTION_DAYS;
    const raw = resource.properties.BackupRetentionPeriod;
    // CloudFormation's default retention is 1 day.
    const retention = raw === undefined ? 1 : num(raw);
    const reasons: string[] = [];
    if (retention === undefined) {
      reasons.push('BackupRetentionPeriod is not a literal number, so the retention cannot be verified');
    } else if (retention === 0) {
      reasons.push('automated backups are disabled (BackupRetentionPeriod 0): no point-in-time recovery');
    } else if (retention < minimum) {
      reasons.push(`backups are kept ${retention} day(s); at least ${minimum} are required`);
    }
    if (bool(resource.properties.CopyTagsToSnapshot) !== true) {
      reasons.push('CopyTagsToSnapshot is not enabled');
    }
    return verdict(reasons);
  },
};

const rdsRestoreVerified: ReadinessRule = {
  id: 'RDSRestoreVerified',
  title: `RDS databases are covered by an automated restore verification (tag or metadata \`${RESTORE_VERIFIED_MARKER}\`)`,
  why:
    'A backup that was never restored is a hope, not a backup. A scheduled restore test proves that the ' +
    'backups restore, and measures the real recovery point and recovery time.',
  fix:
    "Add Shipshape's `RestoreVerification` construct for the database (it tags the database), or, with your " +
    `own restore test, tag the database \`${RESTORE_VERIFIED_MARKER}=<name of the test>\` ` +
    `(\`Tags.of(db).add('${RESTORE_VERIFIED_MARKER}', 'nightly-restore')\`).`,
  resourceTypes: RDS_TYPES,
  check(resource) {
    if (!RDS_TYPES.includes(resource.type) || !ownsItsData(resource)) return NA;
    const tag = tagValue(resource, RESTORE_VERIFIED_MARKER);
    const meta = resource.metadata[RESTORE_VERIFIED_MARKER];
    if ((tag !== undefined && tag.trim() !== '' && tag !== 'false') || (meta !== undefined && meta !== false))
      return OK;
    return fail(
      `no \`${RESTORE_VERIFIED_MARKER}\` tag or metadata: no restore test is known to cover this database`,
    );
  },
};

const rdsDeletionProtection: ReadinessRule = {
  id: 'RDSDeletionProtection',
  title: 'Production RDS databases have deletion protection',
  why: 'One mistaken `cdk destroy`, stack rename or console click must not be able to delete the production database.',
  fix:
    'Set DeletionProtection (L2: `deletionProtection: true`) on production databases. Production is the pack ' +
    'prop `production: true`, or the stack / resource tag `Environment=production`.',
  resourceTypes: RDS_TYPES,
  check(resource, context) {
    if (!RDS_TYPES.includes(resource.type) || !ownsItsData(resource)) return NA;
    if (!context.production && !isProductionEnvironment(tagValue(resource, ENVIRONMENT_TAG))) return NA;
    return bool(resource.properties.DeletionProtection) === true
      ? OK
      : fail('DeletionProtection is not enabled');
  },
};

const cloudFrontWaf: ReadinessRule = {
  id: 'CloudFrontWAF',
  title: 'CloudFront distributions are protected by a WAF web ACL with a rate-based rule',
  why:
    'The CDN is the public front door. Without a web ACL nothing filters common exploits; without a rate-based ' +
    'rule one client can exhaust the origin (and the bill).',
  fix:
    'Create a WAFv2 WebACL with Scope CLOUDFRONT (in us-east-1) that has at least one RateBasedStatement rule, ' +
    "and set the distribution's WebACLId (L2: `webAclId: acl.attrArn`). When the ACL lives in another stack or " +
    'region (an SSM parameter or an import), the ACL itself is checked by the WAFRateBasedRule rule where it is defined.',
  resourceTypes: ['AWS::CloudFront::Distribution'],
  check(resource, context) {
    if (resource.type !== 'AWS::CloudFront::Distribution') return NA;
    const config = resource.properties.DistributionConfig;
    const aclId = isObject(config) ? config.WebACLId : undefined;
    if (aclId === undefined || aclId === '' || aclId === null)
      return fail('the distribution has no WebACLId');
    const target = referencedLogicalId(aclId);
    const acl = target ? context.resources.get(target) : undefined;
    // A reference into this template: verify the ACL here. Anything else (literal ARN, SSM
    // parameter, import, custom resource reading another region) cannot be followed from this
    // template; the ACL is then checked by WAFRateBasedRule in the stack that defines it.
    if (!acl || acl.type !== 'AWS::WAFv2::WebACL') return OK;
    return hasRateBasedRule(acl) ? OK : fail(`web ACL ${acl.logicalId} has no rate-based rule`);
  },
};

function hasRateBasedRule(acl: TemplateResource): boolean {
  const rules = acl.properties.Rules;
  return (
    Array.isArray(rules) &&
    rules.some((r) => isObject(r) && JSON.stringify(r.Statement ?? {}).includes('"RateBasedStatement"'))
  );
}

const wafRateBased: ReadinessRule = {
  id: 'WAFRateBasedRule',
  title: 'CloudFront-scoped WAF web ACLs have a rate-based rule',
  why: 'Managed rule groups block known exploits but not volume; only a rate-based rule stops one client flooding the origin.',
  fix: 'Add a rule with a RateBasedStatement (a limit per IP per 5 minutes, tighter on authentication paths).',
  resourceTypes: ['AWS::WAFv2::WebACL'],
  check(resource) {
    if (resource.type !== 'AWS::WAFv2::WebACL' || resource.properties.Scope !== 'CLOUDFRONT') return NA;
    return hasRateBasedRule(resource) ? OK : fail('no rule of the web ACL has a RateBasedStatement');
  },
};

const ALARM_TYPES = ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'];

const alarmAction: ReadinessRule = {
  id: 'AlarmAction',
  title:
    'Every CloudWatch alarm notifies someone (an alarm action), unless it is an input of a composite alarm',
  why: 'An alarm without an action changes colour on a dashboard nobody watches at 3 AM.',
  fix:
    'Add an alarm action (L2: `alarm.addAlarmAction(new SnsAction(topic))`) and keep ActionsEnabled true, or make ' +
    'the alarm an input of a composite alarm that has one.',
  resourceTypes: ALARM_TYPES,
  check(resource, context) {
    if (!ALARM_TYPES.includes(resource.type)) return NA;
    const name = resource.properties.AlarmName;
    const isInput =
      context.compositeAlarmInputs.has(resource.logicalId) ||
      (typeof name === 'string' && context.compositeAlarmInputs.has(name));
    if (resource.type === 'AWS::CloudWatch::Alarm' && isInput) return OK;
    const actions = resource.properties.AlarmActions;
    const reasons: string[] = [];
    if (!Array.isArray(actions) || actions.length === 0) reasons.push('the alarm has no AlarmActions');
    if (bool(resource.properties.ActionsEnabled) === false) reasons.push('ActionsEnabled is false');
    return verdict(reasons);
  },
};

const RUNBOOK_LINK = /Runbook:\s*https:\/\/\S+/;

const alarmRunbook: ReadinessRule = {
  id: 'AlarmRunbook',
  title: 'Every CloudWatch alarm links its runbook (`Runbook: https://...` in the description)',
  why: 'Whoever is paged needs to know what the alarm means and what to do first, without searching a wiki.',
  fix: 'End the alarm description with `Runbook: https://<where the runbook lives>` (L2: `alarmDescription`).',
  resourceTypes: ALARM_TYPES,
  check(resource) {
    if (!ALARM_TYPES.includes(resource.type)) return NA;
    const description = literalStrings(resource.properties.AlarmDescription).join('');
    return RUNBOOK_LINK.test(description)
      ? OK
      : fail('the alarm description has no `Runbook: https://...` link');
  },
};

const aliasDeployment: ReadinessRule = {
  id: 'LambdaAliasDeployment',
  title: 'Every Lambda alias is deployed by CodeDeploy with alarm-based automatic rollback',
  why:
    'Shifting all traffic to a new version at once turns every bad deploy into an outage. A CodeDeploy canary ' +
    'watched by alarms rolls back on its own, within minutes.',
  fix:
    'Create a `codedeploy.LambdaDeploymentGroup` for the alias with `alarms: [...]` (which enables ' +
    'DEPLOYMENT_STOP_ON_ALARM rollback) and a canary or linear `deploymentConfig`.',
  resourceTypes: ['AWS::Lambda::Alias'],
  check(resource, context) {
    if (resource.type !== 'AWS::Lambda::Alias') return NA;
    const update = resource.updatePolicy.CodeDeployLambdaAliasUpdate;
    if (!isObject(update))
      return fail('no CodeDeploy deployment group deploys this alias (no CodeDeployLambdaAliasUpdate)');
    const groupRef = update.DeploymentGroupName;
    const groupId = referencedLogicalId(groupRef);
    const group =
      (groupId ? context.resources.get(groupId) : undefined) ??
      [...context.resources.values()].find(
        (r) =>
          r.type === 'AWS::CodeDeploy::DeploymentGroup' &&
          typeof groupRef === 'string' &&
          r.properties.DeploymentGroupName === groupRef,
      );
    if (!group || group.type !== 'AWS::CodeDeploy::DeploymentGroup') {
      return fail(
        'the deployment group is not defined in this template, so its rollback settings cannot be verified',
      );
    }
    const reasons: string[] = [];
    const alarms = group.properties.AlarmConfiguration;
    if (
      !isObject(alarms) ||
      bool(alarms.Enabled) !== true ||
      !Array.isArray(alarms.Alarms) ||
      alarms.Alarms.length === 0
    ) {
      reasons.push(`deployment group ${group.logicalId} watches no alarms`);
    }
    const rollback = group.properties.AutoRollbackConfiguration;
    const events = isObject(rollback) && Array.isArray(rollback.Events) ? rollback.Events : [];
    if (
      !isObject(rollback) ||
      bool(rollback.Enabled) !== true ||
      !events.includes('DEPLOYMENT_STOP_ON_ALARM')
    ) {
      reasons.push(`deployment group ${group.logicalId} does not roll back automatically on alarm`);
    }
    return verdict(reasons);
  },
};

/** Variable names that suggest a credential. */
const SECRET_NAME =
  /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?|AUTH_?KEY)/i;
/** ...unless the name says it holds a pointer to the secret or a setting about it. */
const REFERENCE_NAME =
  /(_ARN|_NAME|_ID|_PARAM|_PARAMETER|_PATH|_REF|_TTL|_SECONDS|_MS|_HEADER|_URL|_URI|_ENDPOINT|_REGION|_FIELD|_KEY_ID)$/i;

/** A flag, number or duration (`VERIFY_TOKEN_SIGNATURE=true`, `TOKEN_TTL=3600`): a setting, not a secret. */
function isSetting(value: string): boolean {
  return /^(true|false|yes|no|on|off|enabled|disabled|none|\d+(\.\d+)?(ms|s|m|h|d)?)$/i.test(value);
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * How often consecutive characters change class (lower, upper, digit, other), per character.
 * Random tokens switch on about every other character; identifiers and paths are made of words
 * (`NetworkPublicSubnet1SubnetBAFD76B4`, `Staging/Stateful/Network`) and switch far less.
 */
export function classSwitchRatio(text: string): number {
  const classOf = (ch: string) => (/[a-z]/.test(ch) ? 0 : /[A-Z]/.test(ch) ? 1 : /[0-9]/.test(ch) ? 2 : 3);
  let switches = 0;
  for (let i = 1; i < text.length; i++) if (classOf(text[i]) !== classOf(text[i - 1])) switches += 1;
  return text.length <= 1 ? 0 : switches / (text.length - 1);
}

/**
 * Why a literal value looks like a secret, or undefined. Known credential formats, URLs with a
 * password, and long random-looking tokens (mixed case and digits, high entropy). Used on Lambda
 * environments here and on whole templates by the policy tests.
 */
export function secretLookingValue(value: string): string | undefined {
  if (/\bA(KIA|SIA)[0-9A-Z]{16}\b/.test(value)) return 'an AWS access key id';
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) return 'a PEM private key';
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i.test(value)) return 'a URL with an embedded password';
  if (/\b(ghp|gho|github_pat|xox[abp]|sk_live|sk-[A-Za-z0-9]{20})[A-Za-z0-9_-]{10,}/.test(value))
    return 'a known API token format';
  if (value.startsWith('arn:') || /^https?:\/\//.test(value) || value.startsWith('/')) return undefined;
  if (
    value.length >= 24 &&
    /^[A-Za-z0-9+/=_-]+$/.test(value) &&
    /[a-z]/.test(value) &&
    /[A-Z]/.test(value) &&
    /[0-9]/.test(value) &&
    shannonEntropy(value) >= 4.2 &&
    classSwitchRatio(value) >= 0.5
  ) {
    return 'a long high-entropy string';
  }
  return undefined;
}

const lambdaEnvironmentSecrets: ReadinessRule = {
  id: 'LambdaEnvironmentSecrets',
  title: 'No plaintext secret in a Lambda environment',
  why:
    'Environment variables are readable by anyone with lambda:GetFunctionConfiguration, stored in the template, ' +
    'and shown in the console. A secret there leaks through every one of those paths.',
  fix:
    'Keep the secret in Secrets Manager (or SSM SecureString), pass its ARN or name in the environment ' +
    '(`DB_SECRET_ARN`), grant read access, and fetch it at run time (Powertools Parameters caches it).',
  resourceTypes: ['AWS::Lambda::Function'],
  check(resource) {
    if (resource.type !== 'AWS::Lambda::Function') return NA;
    const environment = resource.properties.Environment;
    const variables = isObject(environment) && isObject(environment.Variables) ? environment.Variables : {};
    const reasons: string[] = [];
    for (const [name, value] of Object.entries(variables)) {
      if (typeof value !== 'string' || value === '') continue; // intrinsics point at values kept elsewhere
      const looksLike = secretLookingValue(value);
      if (looksLike) {
        reasons.push(`${name} holds ${looksLike}`);
      } else if (
        SECRET_NAME.test(name) &&
        !REFERENCE_NAME.test(name) &&
        !isSetting(value) &&
        !value.startsWith('arn:') &&
        !value.startsWith('/')
      ) {
        reasons.push(`${name} looks like a credential and holds a literal value`);
      }
    }
    return verdict(reasons);
  },
};

const logGroupRetention: ReadinessRule = {
  id: 'LogGroupRetention',
  title: 'Log groups have a retention period',
  why: 'Logs kept forever cost more every month and keep personal data longer than anyone decided to.',
  fix: 'Set RetentionInDays (L2: `retention: RetentionDays.ONE_MONTH` or what your data policy says).',
  resourceTypes: ['AWS::Logs::LogGroup'],
  check(resource) {
    if (resource.type !== 'AWS::Logs::LogGroup') return NA;
    return resource.properties.RetentionInDays === undefined
      ? fail('RetentionInDays is not set: logs never expire')
      : OK;
  },
};

const statefulKeepsData: ReadinessRule = {
  id: 'StatefulRetain',
  title:
    'Stateful resources keep their data when deleted or replaced (DeletionPolicy and UpdateReplacePolicy Retain or Snapshot)',
  why:
    'CloudFormation deletes a resource when it leaves the template or must be replaced; for a database, bucket, ' +
    'table or key that means the data is gone, with no undo.',
  fix: 'Use `removalPolicy: RemovalPolicy.RETAIN` (or `SNAPSHOT` where supported) on the construct.',
  resourceTypes: STATEFUL_RESOURCE_TYPES,
  check(resource) {
    if (!STATEFUL_RESOURCE_TYPES.includes(resource.type)) return NA;
    if (resource.type === 'AWS::RDS::DBInstance' && resource.properties.DBClusterIdentifier !== undefined)
      return NA;
    const reasons: string[] = [];
    if (!KEEPING_POLICIES.has(resource.deletionPolicy ?? 'Delete')) {
      reasons.push(`DeletionPolicy is ${resource.deletionPolicy ?? 'Delete (the default)'}`);
    }
    if (!KEEPING_POLICIES.has(resource.updateReplacePolicy ?? 'Delete')) {
      reasons.push(`UpdateReplacePolicy is ${resource.updateReplacePolicy ?? 'Delete (the default)'}`);
    }
    return verdict(reasons);
  },
};

/** Every checklist rule, in report order. */
export const READINESS_RULES: readonly ReadinessRule[] = [
  rdsBackups,
  rdsRestoreVerified,
  rdsDeletionProtection,
  cloudFrontWaf,
  wafRateBased,
  alarmAction,
  alarmRunbook,
  aliasDeployment,
  lambdaEnvironmentSecrets,
  logGroupRetention,
  statefulKeepsData,
];

/** The cdk-nag pack name; rule ids are `ProductionReadiness-<rule id>`. */
export const READINESS_PACK_NAME = 'ProductionReadiness';

/** `ProductionReadiness-<id>`. */
export function readinessRuleId(rule: ReadinessRule): string {
  return `${READINESS_PACK_NAME}-${rule.id}`;
}

/** The validation plugin name of `@cdklabs/cdk-validator-cfnguard` (Control Tower rules). */
export const CFN_GUARD_PLUGIN = 'cdk-validator-cfnguard';

/** The id that acknowledges a cfn-guard rule: `cdk-validator-cfnguard::<rule name>`. */
export function guardRuleId(rule: string): string {
  return `${CFN_GUARD_PLUGIN}::${rule}`;
}
