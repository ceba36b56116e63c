/**
 * Reading and writing CodeDeploy AppSpecs of Lambda deployments: which versions a deployment
 * moves between and which hooks it runs, and the AppSpec of a rollback deployment.
 * https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-resources.html
 */
import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';
import type { ServiceOutputs } from './aws';

/** The AppSpec content of a deployment (JSON or YAML, as CodeDeploy returns it). */
export function appSpecOf(info: DeploymentInfo): string {
  return info.revision?.appSpecContent?.content ?? info.revision?.string?.content ?? '';
}

/** Reads `CurrentVersion` / `TargetVersion` from a JSON or YAML AppSpec. */
export function appSpecField(appSpec: string, field: string): string | undefined {
  return new RegExp(`["']?${field}["']?\\s*:\\s*["']?(\\d+)`).exec(appSpec)?.[1];
}

/** Reads the traffic hooks (`BeforeAllowTraffic`, `AfterAllowTraffic`) of a JSON or YAML AppSpec. */
export function parseHooks(appSpec: string): Record<string, string> {
  const hooks: Record<string, string> = {};
  for (const hook of ['BeforeAllowTraffic', 'AfterAllowTraffic']) {
    const match = new RegExp(`["']?${hook}["']?\\s*:\\s*["']?([A-Za-z0-9_:.\\-]+)`).exec(appSpec);
    if (match) hooks[hook] = match[1];
  }
  return hooks;
}

/** The AppSpec of a Lambda deployment that moves `alias` from one version to another. */
export function lambdaAppSpec(
  outputs: ServiceOutputs,
  fromVersion: string,
  toVersion: string,
  hooks: Readonly<Record<string, string>>,
): string {
  const resources = [
    {
      [outputs.aliasName]: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Name: outputs.functionName,
          Alias: outputs.aliasName,
          CurrentVersion: fromVersion,
          TargetVersion: toVersion,
        },
      },
    },
  ];
  const hookList = Object.entries(hooks).map(([name, fn]) => ({ [name]: fn }));
  // `version` must read 0.0: JSON.stringify would write 0.
  return `{"version":0.0,"Resources":${JSON.stringify(resources)}${
    hookList.length > 0 ? `,"Hooks":${JSON.stringify(hookList)}` : ''
  }}`;
}
