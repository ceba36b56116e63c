/**
 * Reading and writing CodeDeploy AppSpecs of Lambda deployments: which versions a deployment
 * moves between, and the AppSpec of a rollback deployment (its hooks come from the stack outputs).
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
