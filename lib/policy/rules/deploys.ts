/**
 * Deploys: every compute that serves traffic has a rollback path that works without a human.
 * Checklist seed: "rollback in under 5 minutes".
 */
import { fail, NA, OK, type ReadinessRule, verdict } from '../rule';
import {
  bool,
  isObject,
  list,
  prop,
  referencedLogicalId,
  referencedLogicalIds,
  references,
  type JsonValue,
  type TemplateResource,
} from '../template';

const SEED_ROLLBACK = 'Rollback in under 5 minutes';

/** Why a CodeDeploy deployment group does not roll back on its own, as reasons (none: it does). */
function deploymentGroupGaps(group: TemplateResource): string[] {
  const reasons: string[] = [];
  const alarms = group.properties.AlarmConfiguration;
  if (!isObject(alarms) || bool(alarms.Enabled) !== true || list(alarms.Alarms).length === 0)
    reasons.push(`deployment group ${group.logicalId} watches no alarms`);
  const rollback = group.properties.AutoRollbackConfiguration;
  const events = list(prop(rollback, 'Events'));
  if (!isObject(rollback) || bool(rollback.Enabled) !== true || !events.includes('DEPLOYMENT_STOP_ON_ALARM'))
    reasons.push(`deployment group ${group.logicalId} does not roll back automatically on alarm`);
  return reasons;
}

const aliasDeployment: ReadinessRule = {
  id: 'LambdaAliasDeployment',
  group: 'deploys',
  severity: 'blocker',
  seed: SEED_ROLLBACK,
  title: 'Every Lambda alias is deployed by CodeDeploy with alarm-based automatic rollback',
  why:
    'Shifting all traffic to a new version at once turns every bad deploy into an outage. A CodeDeploy canary ' +
    'watched by alarms rolls back on its own, within minutes.',
  fix:
    '`new codedeploy.LambdaDeploymentGroup(this, id, { alias, alarms: [errorsAlarm], deploymentConfig: ' +
    'codedeploy.LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES })` (`alarms` enables DEPLOYMENT_STOP_ON_ALARM ' +
    'rollback). With Shipshape: `SafeDeployment` wires the same.',
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
    if (!group || group.type !== 'AWS::CodeDeploy::DeploymentGroup')
      return fail(
        'the deployment group is not defined in this template, so its rollback settings cannot be verified',
      );
    return verdict(deploymentGroupGaps(group));
  },
};

/** Where each entry-point integration names the Lambda it invokes. */
const INVOKE_TARGETS: Readonly<Record<string, (p: TemplateResource['properties']) => JsonValue | undefined>> =
  {
    'AWS::ApiGatewayV2::Integration': (p) => p.IntegrationUri,
    'AWS::ApiGateway::Method': (p) => prop(p, 'Integration', 'Uri'),
    'AWS::AppSync::DataSource': (p) => prop(p, 'LambdaConfig', 'LambdaFunctionArn'),
    'AWS::ElasticLoadBalancingV2::TargetGroup': (p) => (p.TargetType === 'lambda' ? p.Targets : undefined),
    'AWS::Lambda::Url': (p) => (p.Qualifier === undefined ? p.TargetFunctionArn : undefined),
  };

const entryPointTargetsAlias: ReadinessRule = {
  id: 'EntryPointTargetsAlias',
  group: 'deploys',
  severity: 'blocker',
  seed: SEED_ROLLBACK,
  title:
    'Lambda functions behind an API, load balancer, AppSync or function URL are invoked through an alias',
  why:
    'An integration that invokes the function itself runs whatever was deployed last ($LATEST): every deploy ' +
    'switches all traffic at once and there is no previous version to send it back to.',
  fix:
    'Publish versions and point the integration at an alias: `const alias = new lambda.Alias(this, "Live", ' +
    '{ aliasName: "live", version: fn.currentVersion })`, then `new HttpLambdaIntegration("Api", alias)` / ' +
    '`new apigateway.LambdaIntegration(alias)` / `addTarget(new targets.LambdaTarget(alias))` / ' +
    '`alias.addFunctionUrl()`, and deploy the alias with a `codedeploy.LambdaDeploymentGroup`.',
  resourceTypes: Object.keys(INVOKE_TARGETS),
  check(resource, context) {
    const target = INVOKE_TARGETS[resource.type]?.(resource.properties);
    if (target === undefined) return NA;
    const functions = [...referencedLogicalIds(target)]
      .map((id) => context.resources.get(id))
      .filter((r): r is TemplateResource => r?.type === 'AWS::Lambda::Function');
    if (functions.length === 0) {
      const lambdas = [...referencedLogicalIds(target)].some((id) =>
        ['AWS::Lambda::Alias', 'AWS::Lambda::Version'].includes(context.resources.get(id)?.type ?? ''),
      );
      return lambdas ? OK : NA;
    }
    return fail(...functions.map((f) => `invokes function ${f.logicalId} directly (unqualified: $LATEST)`));
  },
};

const ROLLING_STRATEGIES = new Set(['BLUE_GREEN', 'LINEAR', 'CANARY']);

const ecsRollback: ReadinessRule = {
  id: 'ECSDeploymentRollback',
  group: 'deploys',
  severity: 'blocker',
  seed: SEED_ROLLBACK,
  title: 'Load-balanced ECS services roll back a failed deployment on their own',
  why:
    'Without the deployment circuit breaker a task that never becomes healthy is retried forever while the old ' +
    'tasks drain; with rollback on, ECS returns to the last deployment that reached a steady state.',
  fix:
    '`circuitBreaker: { enable: true, rollback: true }` on the `ecs.FargateService` / `Ec2Service` (or on ' +
    '`ecs_patterns.ApplicationLoadBalancedFargateService`), optionally `deploymentAlarms: { alarmNames, behavior: ' +
    'ecs.AlarmBehavior.ROLLBACK_ON_ALARM }`; or blue/green with `deploymentController: { type: ' +
    'ecs.DeploymentControllerType.CODE_DEPLOY }` and a `codedeploy.EcsDeploymentGroup` with `alarms`.',
  resourceTypes: ['AWS::ECS::Service'],
  check(resource, context) {
    if (resource.type !== 'AWS::ECS::Service') return NA;
    const p = resource.properties;
    const servesTraffic =
      list(p.LoadBalancers).length > 0 || bool(prop(p, 'ServiceConnectConfiguration', 'Enabled')) === true;
    if (!servesTraffic) return NA;
    const config = p.DeploymentConfiguration;
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
    const breaker = prop(config, 'DeploymentCircuitBreaker');
    if (bool(prop(breaker, 'Enable')) === true && bool(prop(breaker, 'Rollback')) === true) return OK;
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html
    const alarms = prop(config, 'Alarms');
    if (bool(prop(alarms, 'Enable')) === true && bool(prop(alarms, 'Rollback')) === true) return OK;
    const strategy = prop(config, 'Strategy');
    if (typeof strategy === 'string' && ROLLING_STRATEGIES.has(strategy)) return OK;
    if (prop(p, 'DeploymentController', 'Type') === 'CODE_DEPLOY') {
      const group = [...context.resources.values()].find(
        (r) =>
          r.type === 'AWS::CodeDeploy::DeploymentGroup' &&
          list(r.properties.ECSServices).some((s) => references(s, resource.logicalId)),
      );
      if (!group) return OK; // the CodeDeploy group lives elsewhere; its alarms cannot be read here
      return verdict(deploymentGroupGaps(group));
    }
    const reasons: string[] = [];
    if (bool(prop(breaker, 'Enable')) !== true) reasons.push('the deployment circuit breaker is off');
    else reasons.push('the deployment circuit breaker stops a failed deployment but does not roll it back');
    return verdict(reasons);
  },
};

const asgRollback: ReadinessRule = {
  id: 'AutoScalingRollback',
  group: 'deploys',
  severity: 'blocker',
  seed: SEED_ROLLBACK,
  title: 'Auto Scaling groups behind a load balancer roll back an update that fails its health signal',
  why:
    'An update that replaces instances without waiting for them to signal healthy finishes "successfully" with ' +
    'a fleet that cannot serve; waiting on signals lets CloudFormation roll the update back.',
  fix:
    '`updatePolicy: autoscaling.UpdatePolicy.rollingUpdate()` with `signals: autoscaling.Signals.waitForMinCapacity()` ' +
    '(cfn-signal from the instance), or `UpdatePolicy.replacingUpdate()`; or deploy with a ' +
    '`codedeploy.ServerDeploymentGroup` with `alarms` and `autoRollback: { failedDeployment: true }`.',
  resourceTypes: ['AWS::AutoScaling::AutoScalingGroup'],
  check(resource, context) {
    if (resource.type !== 'AWS::AutoScaling::AutoScalingGroup') return NA;
    const p = resource.properties;
    if (list(p.TargetGroupARNs).length === 0 && list(p.LoadBalancerNames).length === 0) return NA;
    const rolling = resource.updatePolicy.AutoScalingRollingUpdate;
    if (bool(prop(rolling, 'WaitOnResourceSignals')) === true) return OK;
    if (bool(prop(resource.updatePolicy.AutoScalingReplacingUpdate, 'WillReplace')) === true) return OK;
    const group = [...context.resources.values()].find(
      (r) =>
        r.type === 'AWS::CodeDeploy::DeploymentGroup' &&
        list(r.properties.AutoScalingGroups).some((g) => references(g, resource.logicalId)),
    );
    if (group) return verdict(deploymentGroupGaps(group));
    return fail(
      'updates do not wait for instances to signal healthy, and no CodeDeploy group with rollback deploys it',
    );
  },
};

/** The deploy rules, in report order. */
export const DEPLOY_RULES: readonly ReadinessRule[] = [
  entryPointTargetsAlias,
  aliasDeployment,
  ecsRollback,
  asgRollback,
];
