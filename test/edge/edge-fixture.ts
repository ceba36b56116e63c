import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { type EnvironmentName, loadEnvironmentConfig } from '../../lib/config';
import { ShipshapeStage, stageId } from '../../lib/stages/shipshape-stage';
import { SKIP_BUNDLING } from '../helpers/synth';

/** What the edge fronts: the service's `live` alias and the user pool whose tokens it accepts. */
export interface EdgeTarget {
  readonly handler: lambda.IFunction;
  readonly userPool: cognito.IUserPool;
  readonly userPoolClient: cognito.IUserPoolClient;
}

/** Templates of a stage with the edge (as wired by `StatelessStack`). */
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

/** Synthesizes one environment (bundling skipped), once per test file. */
export function synthEdgeEnvironment(name: EnvironmentName): EdgeEnvironment {
  const cached = cache.get(name);
  if (cached) return cached;
  const app = new App({ context: SKIP_BUNDLING, builtinCloudFormationValidation: false });
  const config = loadEnvironmentConfig(name);
  const stage = new ShipshapeStage(app, stageId(config), { config });
  const { edge, service } = stage.stateless;
  const result = {
    stage,
    target: { handler: service.alias, userPool: service.userPool, userPoolClient: service.userPoolClient },
    stateless: Template.fromStack(stage.stateless),
    firewall: Template.fromStack(edge.firewallStack),
    firewallStack: edge.firewallStack,
  };
  cache.set(name, result);
  return result;
}
