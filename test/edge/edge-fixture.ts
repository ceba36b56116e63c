import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type EnvironmentName, loadEnvironmentConfig } from '../../lib/config';
import { ShipshapeStage, stageId } from '../../lib/stages/shipshape-stage';
import { SKIP_BUNDLING } from '../helpers/synth';
import type { EdgeTarget } from '../../lib/stacks/stateless-stack';

/** Id of the stack holding the stand-in service (so policy tests can tell its findings apart). */
export const STAND_IN_STACK_ID = 'ServiceStandIn';

/**
 * A small function with a `live` alias and a user pool + client, in a stack of their own: what
 * the real service (lib/service) provides to the edge. Used until the service is merged.
 */
export function serviceStandIn(stage: ShipshapeStage): EdgeTarget {
  const stack = new Stack(stage, STAND_IN_STACK_ID, {
    env: { account: stage.config.account, region: stage.config.region },
  });
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

/** Wires the edge into a stage's stateless stack, unless the stage already does it itself. */
export function ensureEdge(stage: ShipshapeStage): void {
  if (!stage.stateless.edge) stage.stateless.addEdge(serviceStandIn(stage));
}

/** Templates of a stage with the edge wired in. */
export interface EdgeEnvironment {
  readonly stage: ShipshapeStage;
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
  ensureEdge(stage);
  const edge = stage.stateless.edge!;
  const result = {
    stage,
    stateless: Template.fromStack(stage.stateless),
    firewall: Template.fromStack(edge.firewallStack),
    firewallStack: edge.firewallStack,
  };
  cache.set(name, result);
  return result;
}
