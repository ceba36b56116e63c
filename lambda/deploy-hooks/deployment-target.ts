/**
 * The deployment a lifecycle hook is called for: which function, alias, current and target
 * version. Read from CodeDeploy itself (`GetDeployment`), never from settings fixed at synth
 * time: a rollback deployment (`shipshape rollback`) targets an OLDER version than the one
 * CloudFormation last published, and a hook that acted on a synth-time version would self-test
 * the broken version during the incident the rollback is for.
 *
 * - `GetDeployment` returns `deploymentInfo.revision` (a RevisionLocation); for a Lambda
 *   deployment its `appSpecContent.content` (or the deprecated `string.content`) is the AppSpec
 *   (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_GetDeployment.html,
 *   https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_RevisionLocation.html,
 *   https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_AppSpecContent.html:
 *   "a YAML-formatted or JSON-formatted string").
 * - A Lambda AppSpec lists `Resources: [{ <name>: { Type: AWS::Lambda::Function, Properties:
 *   { Name, Alias, CurrentVersion, TargetVersion } } }]`
 *   (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-resources.html).
 *   Versions are published version numbers; YAML may hand them over as numbers.
 *
 * No CDK imports: bundled into the hook Lambdas.
 */
import { type CodeDeployClient, GetDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** What one Lambda deployment shifts, from its AppSpec. */
export interface DeploymentTarget {
  readonly deploymentId: string;
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  /** The function's name (as the AppSpec names it: a name or an ARN). */
  readonly functionName: string;
  readonly alias: string;
  /** The version the alias pointed to when the deployment started. */
  readonly currentVersion: string;
  /** The version the deployment shifts the alias to. */
  readonly targetVersion: string;
  /** The target is an older version than the current one: a rollback, which migrates nothing. */
  readonly isRollback: boolean;
}

/** The AppSpec could not be read or does not describe one Lambda function. */
export class AppSpecError extends Error {}

const version = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const text = String(v);
  if (!/^[1-9][0-9]*$/.test(text)) {
    ctx.addIssue({ code: 'custom', message: `must be a published version number, got '${text}'` });
    return z.NEVER;
  }
  return text;
});

const lambdaResourceSchema = z.object({
  Type: z.literal('AWS::Lambda::Function').optional(),
  Properties: z.object({
    Name: z.string().min(1),
    Alias: z.string().min(1),
    CurrentVersion: version,
    TargetVersion: version,
  }),
});

const appSpecSchema = z.object({
  Resources: z
    .array(z.record(z.string(), lambdaResourceSchema))
    .length(1, 'must list exactly one Lambda function'),
});

/** The Lambda function properties of an AppSpec (JSON or YAML). Throws {@link AppSpecError}. */
export function parseAppSpec(content: string): z.infer<typeof lambdaResourceSchema>['Properties'] {
  let document: unknown;
  try {
    // YAML 1.2 is a superset of JSON: one parser reads both forms CodeDeploy accepts.
    document = parseYaml(content);
  } catch (error) {
    throw new AppSpecError(`the AppSpec is neither JSON nor YAML: ${(error as Error).message}`);
  }
  const parsed = appSpecSchema.safeParse(document);
  if (!parsed.success) {
    throw new AppSpecError(`the AppSpec does not describe one Lambda function: ${parsed.error.message}`);
  }
  const resources = Object.values(parsed.data.Resources[0]);
  if (resources.length !== 1) throw new AppSpecError('the AppSpec resource entry must name one function');
  return resources[0].Properties;
}

/** Reads the deployment `deploymentId` and its AppSpec. Throws {@link AppSpecError} on a malformed one. */
export async function readDeploymentTarget(
  codedeploy: CodeDeployClient,
  deploymentId: string,
  signal: AbortSignal,
): Promise<DeploymentTarget> {
  const { deploymentInfo: info } = await codedeploy.send(new GetDeploymentCommand({ deploymentId }), {
    abortSignal: signal,
  });
  if (!info?.applicationName || !info.deploymentGroupName) {
    throw new AppSpecError(`deployment ${deploymentId} has no application or deployment group`);
  }
  const content = info.revision?.appSpecContent?.content ?? info.revision?.string?.content;
  if (!content) {
    throw new AppSpecError(
      `deployment ${deploymentId} carries no AppSpec content (revision type ${info.revision?.revisionType ?? 'none'})`,
    );
  }
  const spec = parseAppSpec(content);
  return {
    deploymentId,
    applicationName: info.applicationName,
    deploymentGroupName: info.deploymentGroupName,
    functionName: spec.Name,
    alias: spec.Alias,
    currentVersion: spec.CurrentVersion,
    targetVersion: spec.TargetVersion,
    isRollback: Number(spec.TargetVersion) < Number(spec.CurrentVersion),
  };
}

/**
 * Whether the AppSpec's function is `expected` (a name): AppSpec `Name` may be the name or the
 * function's ARN. A hook only ever acts on the function its construct wired it to.
 */
export function isSameFunction(appSpecName: string, expected: string): boolean {
  return appSpecName === expected || appSpecName.endsWith(`:function:${expected}`);
}
