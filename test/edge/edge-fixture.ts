import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { type EnvironmentName, loadEnvironmentConfig } from '../../lib/config';
import { ShipshapeStage, stageId } from '../../lib/stages/shipshape-stage';
import { SKIP_BUNDLING } from '../helpers/synth';
import type { EdgeTarget } from '../../lib/stacks/stateless-stack';

/** Construct id of the stand-in service (so policy tests can tell its findings apart). */
export const STAND_IN_ID = 'ServiceStandIn';

/**
 * A small function with a `live` alias and a user pool + client, in the stateless stack where
 * the real service (lib/service) will live: what the service provides to the edge. Used until the
 * service is merged; then `edgeTargetOf` returns the service's own handles.
 */
export function serviceStandIn(stage: ShipshapeStage): EdgeTarget {
  const stack = new Construct(stage.stateless, STAND_IN_ID);
  const fn = new lambda.Function(stack, 'Api', {
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ statusCode: 200, body: "ok" });'),
  });
  const alias = new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion });
  const userPool = new cognito.UserPool(stack, 'UserPool');
  const userPoolClient = userPool.addClient('Client');
  // The stand-in is not under test; its policy findings belong to the real service.
  Validations.of(stack).acknowledge(
    ...[
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-COG1',
      'AwsSolutions-COG2',
      'AwsSolutions-COG8',
    ].map((id) => ({
      id,
      reason: 'Test stand-in for lib/service; not deployed.',
    })),
  );
  return { handler: alias, userPool, userPoolClient };
}

/**
 * Wires the edge into a stage's stateless stack (as `StatelessStack` will once the service is
 * merged) and returns what it fronts.
 */
export function ensureEdge(stage: ShipshapeStage): EdgeTarget {
  const { stateless } = stage;
  if (stateless.edge) {
    // StatelessStack already fronts the real service with the edge.
    const { service } = stateless;
    return { handler: service.alias, userPool: service.userPool, userPoolClient: service.userPoolClient };
  }
  const target = serviceStandIn(stage);
  stage.stateless.addEdge(target);
  return target;
}

/** Templates of a stage with the edge wired in. */
export interface EdgeEnvironment {
  readonly stage: ShipshapeStage;
  /** What the edge fronts (function alias, user pool, app client). */
  readonly target: EdgeTarget;
  /** The stateless stack (HTTP API, distribution, buckets, origin-verify secret). */
  readonly stateless: Template;
  /** The us-east-1 stack holding the web ACL. */
  readonly firewall: Template;
  readonly firewallStack: Stack;
}

const cache = new Map<EnvironmentName, EdgeEnvironment>();

/** Synthesizes one environment with the edge (bundling skipped), once per test file. */
export function synthEdgeEnvironment(name: EnvironmentName): EdgeEnvironment {
  const cached = cache.get(name);
  if (cached) return cached;
  const app = new App({ context: SKIP_BUNDLING, builtinCloudFormationValidation: false });
  const config = loadEnvironmentConfig(name);
  const stage = new ShipshapeStage(app, stageId(config), { config });
  const target = ensureEdge(stage);
  const edge = stage.stateless.edge!;
  const result = {
    stage,
    target,
    stateless: Template.fromStack(stage.stateless),
    firewall: Template.fromStack(edge.firewallStack),
    firewallStack: edge.firewallStack,
  };
  cache.set(name, result);
  return result;
}
