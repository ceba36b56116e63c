/**
 * Secrets and logs: no secret in plain configuration, secrets rotate, logs expire, and every
 * entry point keeps an access log. Checklist seeds: "secrets out of code", "every error has a
 * recovery path" (you cannot recover from what you cannot see).
 */
import { fail, NA, OK, type ReadinessRule, verdict } from '../rule';
import { plaintextSecretReason } from '../secret-values';
import { bool, isObject, list, pathOf, prop, references, type TemplateResource } from '../template';

const plaintextSecrets: ReadinessRule = {
  id: 'PlaintextSecrets',
  group: 'secrets-and-logs',
  severity: 'blocker',
  seed: 'Secrets out of code',
  title: 'No plaintext secret in a Lambda or container environment or a plain SSM parameter',
  why:
    'Environment variables and String parameters are readable by anyone with read access to the function, ' +
    'task definition or parameter, stored in the template, and shown in the console.',
  fix:
    'Keep the secret in Secrets Manager (`secretsmanager.Secret`) or an SSM SecureString, pass its ARN or name ' +
    '(`DB_SECRET_ARN: secret.secretArn`) and `secret.grantRead(fn)`, and fetch it at run time; for ECS use ' +
    '`secrets: { DB_PASSWORD: ecs.Secret.fromSecretsManager(secret) }` instead of `environment`.',
  equivalents: ['ProductionReadiness-LambdaEnvironmentSecrets'],
  fixByType: {
    'AWS::Lambda::Function':
      'Keep the value in `secretsmanager.Secret`, pass `SECRET_ARN: secret.secretArn` in `environment`, `secret.grantRead(fn)`, and read it at run time (Powertools Parameters caches it).',
    'AWS::ECS::TaskDefinition':
      'Move it from `environment` to `secrets: { NAME: ecs.Secret.fromSecretsManager(secret) }` (or `ecs.Secret.fromSsmParameter(...)` of a SecureString).',
    'AWS::SSM::Parameter':
      'Store it in `secretsmanager.Secret` (or an SSM SecureString created outside CloudFormation, which cannot create SecureStrings) and pass only its name.',
  },
  resourceTypes: ['AWS::Lambda::Function', 'AWS::ECS::TaskDefinition', 'AWS::SSM::Parameter'],
  check(resource) {
    const p = resource.properties;
    const reasons: string[] = [];
    const inspect = (name: string, value: unknown, where: string) => {
      if (typeof value !== 'string') return; // intrinsics point at values kept elsewhere
      const reason = plaintextSecretReason(name, value);
      if (reason) reasons.push(where ? `${where}: ${reason}` : reason);
    };
    switch (resource.type) {
      case 'AWS::Lambda::Function': {
        const variables = prop(p, 'Environment', 'Variables');
        if (isObject(variables))
          for (const [name, value] of Object.entries(variables)) inspect(name, value, '');
        return verdict(reasons);
      }
      case 'AWS::ECS::TaskDefinition':
        for (const container of list(p.ContainerDefinitions)) {
          const name =
            typeof prop(container, 'Name') === 'string' ? String(prop(container, 'Name')) : 'container';
          for (const variable of list(prop(container, 'Environment'))) {
            if (isObject(variable) && typeof variable.Name === 'string')
              inspect(variable.Name, variable.Value, name);
          }
        }
        return verdict(reasons);
      case 'AWS::SSM::Parameter':
        if (p.Type !== 'String' && p.Type !== undefined) return NA;
        inspect(
          typeof p.Name === 'string' ? (p.Name.split('/').pop() ?? p.Name) : resource.logicalId,
          p.Value,
          '',
        );
        return verdict(reasons);
      default:
        return NA;
    }
  },
};

const secretRotation: ReadinessRule = {
  id: 'SecretRotation',
  group: 'secrets-and-logs',
  severity: 'hardening',
  seed: 'Secrets out of code',
  title: 'Secrets Manager secrets rotate automatically',
  why:
    'A credential that never changes stays valid in every laptop, log and ex-employee that ever saw it; rotation ' +
    'bounds how long a leak is useful.',
  fix:
    '`secret.addRotationSchedule("Rotation", { hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser(), ' +
    'automaticallyAfter: Duration.days(30) })` (or `rotationLambda` for your own). For database credentials, ' +
    '`db.addRotationSingleUser()`. A secret that cannot rotate automatically needs an acknowledgement saying how it is rotated.',
  equivalents: ['AwsSolutions-SMG4', 'NIST.800.53.R5-SecretsManagerRotationEnabled'],
  resourceTypes: ['AWS::SecretsManager::Secret'],
  check(resource, context) {
    if (resource.type !== 'AWS::SecretsManager::Secret') return NA;
    // CDK rotates a database secret through its SecretTargetAttachment: follow it to the secret.
    const targets = new Set([resource.logicalId]);
    for (const other of context.resources.values()) {
      if (
        other.type === 'AWS::SecretsManager::SecretTargetAttachment' &&
        references(other.properties.SecretId, resource.logicalId)
      )
        targets.add(other.logicalId);
    }
    for (const other of context.resources.values()) {
      if (other.type !== 'AWS::SecretsManager::RotationSchedule') continue;
      if ([...targets].some((t) => references(other.properties.SecretId, t))) return OK;
    }
    return fail('no rotation schedule (AWS::SecretsManager::RotationSchedule) targets this secret');
  },
};

const logGroupRetention: ReadinessRule = {
  id: 'LogGroupRetention',
  group: 'secrets-and-logs',
  severity: 'cleanup',
  seed: 'Secrets out of code',
  title: 'Log groups have a retention period',
  why: 'Logs kept forever cost more every month and keep personal data longer than anyone decided to.',
  fix: '`retention: logs.RetentionDays.ONE_MONTH` (or what your data policy says) on the `logs.LogGroup`.',
  equivalents: ['NIST.800.53.R5-CloudWatchLogGroupRetentionPeriod'],
  resourceTypes: ['AWS::Logs::LogGroup'],
  check(resource) {
    if (resource.type !== 'AWS::Logs::LogGroup') return NA;
    return resource.properties.RetentionInDays === undefined
      ? fail('RetentionInDays is not set: logs never expire')
      : OK;
  },
};

/** The singleton functions CDK itself adds (providers of its own custom resources). */
const CDK_FRAMEWORK_FUNCTION =
  /^(AWS679f53fac002430cb0da5b7982bd2287|LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a|CustomCDKBucketDeployment|BucketNotificationsHandler050a0587b7544547bf325f094a3db834|Custom[A-Za-z0-9]+CustomResourceProvider)/;

function isFrameworkFunction(fn: TemplateResource): boolean {
  return (
    CDK_FRAMEWORK_FUNCTION.test(fn.logicalId) ||
    /\/Custom::[A-Za-z0-9]+CustomResourceProvider\//.test(pathOf(fn) ?? '')
  );
}

const lambdaLogRetention: ReadinessRule = {
  id: 'LambdaLogRetention',
  group: 'secrets-and-logs',
  severity: 'cleanup',
  seed: 'Secrets out of code',
  title: "Lambda functions log to a log group with retention (not Lambda's implicit never-expiring one)",
  why:
    'Without a log group of its own a function writes to /aws/lambda/<name>, which Lambda creates with no ' +
    'retention: logs (and whatever personal data they hold) are kept forever.',
  fix:
    '`logGroup: new logs.LogGroup(this, "Logs", { retention: logs.RetentionDays.ONE_MONTH })` on the function ' +
    '(or the older `logRetention` prop).',
  resourceTypes: ['AWS::Lambda::Function'],
  check(resource, context) {
    if (resource.type !== 'AWS::Lambda::Function' || isFrameworkFunction(resource)) return NA;
    if (prop(resource.properties, 'LoggingConfig', 'LogGroup') !== undefined) return OK;
    for (const other of context.resources.values()) {
      if (
        (other.type === 'Custom::LogRetention' || other.type === 'AWS::Logs::LogGroup') &&
        references(other.properties.LogGroupName, resource.logicalId)
      )
        return OK;
    }
    return fail('no log group of its own: Lambda creates /aws/lambda/<name> without retention');
  },
};

const ACCESS_LOG_TYPES = [
  'AWS::CloudFront::Distribution',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGatewayV2::Stage',
  'AWS::AppSync::GraphQLApi',
];

const accessLogs: ReadinessRule = {
  id: 'AccessLogs',
  group: 'secrets-and-logs',
  severity: 'hardening',
  seed: 'Every error has a recovery path',
  title: 'Every public entry point writes access logs',
  why:
    'When something goes wrong (an abusive client, a leaked token, a 5xx storm) the access log is the only ' +
    'record of who called what; without it an incident cannot be reconstructed.',
  fix:
    'CloudFront: `enableLogging: true` (or `logBucket`). ALB: `alb.logAccessLogs(bucket)`. REST API: ' +
    '`deployOptions: { accessLogDestination: new apigateway.LogGroupLogDestination(group), accessLogFormat }`. ' +
    'HTTP/WebSocket API stage: `accessLogSettings` on the stage. AppSync: `logConfig: { fieldLogLevel }`.',
  equivalents: [
    'AwsSolutions-CFR3',
    'AwsSolutions-APIG1',
    'AwsSolutions-ELB2',
    'NIST.800.53.R5-ELBLoggingEnabled',
  ],
  fixByType: {
    'AWS::CloudFront::Distribution':
      '`enableLogging: true` (or `logBucket: bucket`) on the `cloudfront.Distribution`.',
    'AWS::ElasticLoadBalancingV2::LoadBalancer':
      '`alb.logAccessLogs(bucket)` on the `elbv2.ApplicationLoadBalancer`.',
    'AWS::ApiGateway::Stage':
      '`deployOptions: { accessLogDestination: new apigateway.LogGroupLogDestination(group), accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields() }` on the `apigateway.RestApi`.',
    'AWS::ApiGatewayV2::Stage':
      '`accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(group) }` on the `apigwv2.HttpStage` / `WebSocketStage`.',
    'AWS::AppSync::GraphQLApi':
      '`logConfig: { fieldLogLevel: appsync.FieldLogLevel.ERROR }` on the `appsync.GraphqlApi`.',
  },
  resourceTypes: ACCESS_LOG_TYPES,
  check(resource, context) {
    const p = resource.properties;
    switch (resource.type) {
      case 'AWS::CloudFront::Distribution': {
        if (prop(p, 'DistributionConfig', 'Logging') !== undefined) return OK;
        // Standard logging v2: a CloudWatch Logs delivery source for the distribution.
        const v2 = [...context.resources.values()].some(
          (r) =>
            r.type === 'AWS::Logs::DeliverySource' &&
            references(r.properties.ResourceArn, resource.logicalId),
        );
        return v2 ? OK : fail('no standard logging (DistributionConfig.Logging or a log delivery source)');
      }
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer': {
        if (p.Scheme === 'internal') return NA;
        const on = list(p.LoadBalancerAttributes).some(
          (a) => isObject(a) && a.Key === 'access_logs.s3.enabled' && bool(a.Value) === true,
        );
        return on ? OK : fail('access logs are off (access_logs.s3.enabled)');
      }
      case 'AWS::ApiGateway::Stage':
        return prop(p, 'AccessLogSetting', 'DestinationArn') !== undefined
          ? OK
          : fail('the stage has no AccessLogSetting');
      case 'AWS::ApiGatewayV2::Stage':
        return prop(p, 'AccessLogSettings', 'DestinationArn') !== undefined
          ? OK
          : fail('the stage has no AccessLogSettings');
      case 'AWS::AppSync::GraphQLApi':
        return p.LogConfig !== undefined ? OK : fail('the API has no LogConfig');
      default:
        return NA;
    }
  },
};

/** The secrets and logs rules, in report order. */
export const SECRETS_AND_LOGS_RULES: readonly ReadinessRule[] = [
  plaintextSecrets,
  secretRotation,
  accessLogs,
  logGroupRetention,
  lambdaLogRetention,
];
