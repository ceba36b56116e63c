import { READINESS_RULES, secretLookingValue } from '../../lib/policy';
import {
  referencedLogicalIds,
  type JsonObject,
  type JsonValue,
  templateResources,
} from '../../lib/policy/readiness-rules';
import { synthEnvironment } from '../helpers/synth';

type Resources = Record<
  string,
  { Type: string; Properties?: JsonObject; DeletionPolicy?: string; UpdateReplacePolicy?: string }
>;
interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: JsonValue;
}

/**
 * Actions allowed on `Resource: "*"` in identity policies, because the service offers no
 * narrower resource for them. Anything else on "*" fails the test.
 */
const STAR_RESOURCE_ALLOWED: Record<string, string> = {
  'xray:PutTraceSegments': 'X-Ray has no resource-level permissions (Lambda and Step Functions tracing)',
  'xray:PutTelemetryRecords': 'X-Ray has no resource-level permissions',
  'xray:GetSamplingRules': 'X-Ray has no resource-level permissions',
  'xray:GetSamplingTargets': 'X-Ray has no resource-level permissions',
  'logs:CreateLogDelivery': 'vended log delivery (Step Functions, API Gateway access logs) supports only "*"',
  'logs:GetLogDelivery': 'vended log delivery supports only "*"',
  'logs:UpdateLogDelivery': 'vended log delivery supports only "*"',
  'logs:DeleteLogDelivery': 'vended log delivery supports only "*"',
  'logs:ListLogDeliveries': 'vended log delivery supports only "*"',
  'logs:PutResourcePolicy': 'vended log delivery writes the account-level log resource policy',
  'logs:DescribeResourcePolicies': 'account-level list call',
  'logs:DescribeLogGroups': 'account-level list call used by vended log delivery',
  'cloudwatch:PutMetricData':
    'CloudWatch metrics have no resource-level permissions (scoped by namespace condition)',
  'ec2:CreateNetworkInterface': 'Lambda in a VPC: ENI creation cannot be scoped before the ENI exists',
  'ec2:DescribeNetworkInterfaces': 'describe calls have no resource-level permissions',
  'ec2:DeleteNetworkInterface': 'Lambda in a VPC: the ENI ids are not known in advance',
  'ec2:AssignPrivateIpAddresses': 'Lambda in a VPC',
  'ec2:UnassignPrivateIpAddresses': 'Lambda in a VPC',
  'rds:DescribeDBInstances': 'list call; the restore janitor filters by prefix and tag',
  'codedeploy:GetDeploymentConfig': 'deployment configs are account-wide built-ins',
  'secretsmanager:GetRandomPassword': 'generates a random string; acts on no resource (secret rotation)',
};

/** Types that hold data; in production they must keep it on delete and on replacement. */
const DATA_STORES = [
  'AWS::RDS::DBInstance',
  'AWS::RDS::DBCluster',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::S3::Bucket',
  'AWS::DynamoDB::Table',
  'AWS::Cognito::UserPool',
  // Decision: log groups are not data stores here. They expire by retention anyway; whether a
  // stateless stack's logs outlive the stack is the owning construct's choice.
];
const KEEPS_DATA = ['Retain', 'Snapshot', 'RetainExceptOnCreate'];

function asList<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Every policy document of a template: identity policies and resource policies, labelled. */
function policyDocuments(
  resources: Resources,
): Array<{ id: string; identity: boolean; statements: Statement[] }> {
  const out: Array<{ id: string; identity: boolean; statements: Statement[] }> = [];
  const push = (id: string, identity: boolean, doc: JsonValue | undefined) => {
    const statements = (doc as { Statement?: Statement[] } | undefined)?.Statement;
    if (Array.isArray(statements)) out.push({ id, identity, statements });
  };
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
      push(id, true, p.PolicyDocument);
    if (r.Type === 'AWS::IAM::Role') {
      for (const policy of asList(p.Policies as JsonObject[] | undefined))
        push(id, true, policy.PolicyDocument);
    }
    if (r.Type === 'AWS::KMS::Key') push(id, false, p.KeyPolicy);
    if (/::(BucketPolicy|TopicPolicy|QueuePolicy|ResourcePolicy)$/.test(r.Type)) {
      push(id, false, p.PolicyDocument ?? p.ResourcePolicy);
    }
  }
  return out;
}

function allStrings(
  value: JsonValue | undefined,
  path: string,
  into: Array<{ path: string; value: string }>,
): void {
  if (typeof value === 'string') into.push({ path, value });
  else if (Array.isArray(value)) value.forEach((v, i) => allStrings(v, `${path}[${i}]`, into));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) allStrings(v, `${path}.${k}`, into);
}

describe.each(['staging', 'production'] as const)('templates of %s', (env) => {
  let templates: Array<{ stack: string; json: JsonObject; resources: Resources }>;
  beforeAll(() => {
    templates = Object.entries(synthEnvironment(env).templates).map(([stack, t]) => {
      const json = t.toJSON() as JsonObject;
      return { stack, json, resources: json.Resources as unknown as Resources };
    });
  });

  test('no IAM statement allows Action "*" (identity or resource policy)', () => {
    const offenders = templates.flatMap(({ stack, resources }) =>
      policyDocuments(resources).flatMap(({ id, statements }) =>
        statements
          .filter((s) => s.Effect === 'Allow' && asList(s.Action).some((a) => a === '*' || a === '*:*'))
          .map(() => `${stack}/${id}`),
      ),
    );
    expect(offenders).toEqual([]);
  });

  test('no identity policy uses NotAction with Allow', () => {
    const offenders = templates.flatMap(({ stack, resources }) =>
      policyDocuments(resources)
        .filter((d) => d.identity)
        .flatMap(({ id, statements }) =>
          statements.filter((s) => s.Effect === 'Allow' && s.NotAction).map(() => `${stack}/${id}`),
        ),
    );
    expect(offenders).toEqual([]);
  });

  test('Resource "*" only for actions the API cannot scope (allow-list with reasons)', () => {
    const offenders: string[] = [];
    for (const { stack, resources } of templates) {
      for (const { id, identity, statements } of policyDocuments(resources)) {
        // In a resource policy "*" means the resource itself (the key, the bucket).
        if (!identity) continue;
        for (const s of statements) {
          if (s.Effect !== 'Allow' || !asList(s.Resource as string | string[]).includes('*')) continue;
          for (const action of asList(s.Action)) {
            if (!(action in STAR_RESOURCE_ALLOWED)) offenders.push(`${stack}/${id}: ${action} on "*"`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  test('no secret-looking value anywhere in a template', () => {
    const offenders: string[] = [];
    for (const { stack, json } of templates) {
      const strings: Array<{ path: string; value: string }> = [];
      allStrings(json.Resources, 'Resources', strings);
      allStrings(json.Outputs, 'Outputs', strings);
      allStrings(json.Parameters, 'Parameters', strings);
      // Logical ids (in Ref, GetAtt, DependsOn) are names CDK derives from hashes, not values.
      const logicalIds = new Set(Object.keys(json.Resources as JsonObject));
      for (const { path, value } of strings) {
        if (logicalIds.has(value)) continue;
        const kind = secretLookingValue(value);
        if (kind) offenders.push(`${stack} ${path}: ${kind}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  test('no Lambda environment holds a literal credential', () => {
    const rule = READINESS_RULES.find((r) => r.id === 'PlaintextSecrets')!;
    const offenders: string[] = [];
    let functions = 0;
    for (const { stack, json } of templates) {
      const resources = templateResources(json);
      const context = {
        resources,
        production: env === 'production',
        compositeAlarmInputs: new Set<string>(),
        remoteBackupResources: [],
      };
      for (const resource of resources.values()) {
        if (resource.type !== 'AWS::Lambda::Function') continue;
        functions += 1;
        const result = rule.check(resource, context, {});
        if (result.status === 'non-compliant')
          offenders.push(`${stack}/${resource.logicalId}: ${result.reasons.join('; ')}`);
      }
    }
    expect(functions).toBeGreaterThan(0);
    expect(offenders).toEqual([]);
  });

  test('every security group ingress has a source narrower than the internet', () => {
    const rules: Array<{ where: string; rule: JsonObject }> = [];
    for (const { stack, resources } of templates) {
      for (const [id, r] of Object.entries(resources)) {
        if (r.Type === 'AWS::EC2::SecurityGroup') {
          for (const rule of asList(r.Properties?.SecurityGroupIngress as JsonObject[] | undefined))
            rules.push({ where: `${stack}/${id}`, rule });
        }
        if (r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties)
          rules.push({ where: `${stack}/${id}`, rule: r.Properties });
      }
    }
    expect(rules.length).toBeGreaterThan(0);
    // No exception is needed: the API origin is an HTTP API reached by CloudFront over HTTPS,
    // not a load balancer in the VPC. A CloudFront origin-facing prefix list would be narrower
    // than the internet and pass as SourcePrefixListId.
    const open = rules
      .filter(({ rule }) => rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0')
      .map((r) => r.where);
    expect(open).toEqual([]);
  });
});

describe('production keeps its data on delete', () => {
  let resources: Resources;
  beforeAll(() => {
    resources = {};
    for (const t of Object.values(synthEnvironment('production').templates)) {
      Object.assign(resources, t.toJSON().Resources as Resources);
    }
  });

  test(`data stores (${DATA_STORES.map((t) => t.split('::')[2]).join(', ')}) are retained or snapshotted`, () => {
    const stores = Object.entries(resources).filter(([, r]) => DATA_STORES.includes(r.Type));
    expect(stores.map(([, r]) => r.Type)).toEqual(
      expect.arrayContaining(['AWS::RDS::DBInstance', 'AWS::ElastiCache::ReplicationGroup']),
    );
    const offenders = stores
      .filter(
        ([, r]) =>
          !KEEPS_DATA.includes(r.DeletionPolicy ?? 'Delete') ||
          !KEEPS_DATA.includes(r.UpdateReplacePolicy ?? 'Delete'),
      )
      .map(
        ([id, r]) =>
          `${id} (${r.Type}): DeletionPolicy ${r.DeletionPolicy ?? 'Delete'}, UpdateReplacePolicy ${r.UpdateReplacePolicy ?? 'Delete'}`,
      );
    expect(offenders).toEqual([]);
  });

  test('KMS keys that encrypt a data store or a secret are retained', () => {
    const protecting = new Set<string>();
    for (const r of Object.values(resources)) {
      if (!DATA_STORES.includes(r.Type) && r.Type !== 'AWS::SecretsManager::Secret') continue;
      for (const id of referencedLogicalIds(r.Properties ?? {})) {
        if (resources[id]?.Type === 'AWS::KMS::Key') protecting.add(id);
      }
    }
    expect(protecting.size).toBeGreaterThanOrEqual(2); // the database's and the cache's keys
    const offenders = [...protecting].filter(
      (id) => resources[id].DeletionPolicy !== 'Retain' || resources[id].UpdateReplacePolicy !== 'Retain',
    );
    expect(offenders).toEqual([]);
  });

  test("a database's credentials secret is retained with the database", () => {
    const attached = Object.values(resources)
      .filter((r) => r.Type === 'AWS::SecretsManager::SecretTargetAttachment')
      .map((r) => [...referencedLogicalIds(r.Properties?.SecretId)][0]);
    expect(attached.length).toBeGreaterThan(0);
    for (const id of attached) expect([id, resources[id].DeletionPolicy]).toEqual([id, 'Retain']);
  });
});
