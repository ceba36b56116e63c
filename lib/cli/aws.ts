/**
 * AWS plumbing shared by the operator commands: client construction, stack outputs, and the
 * classification of AWS errors into exit codes. Endpoints are never set here, so the SDK's own
 * `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` handling stays in force.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CliError, ExitCode } from './exit-codes';

/** The clients every command uses. Tests pass their own (mocked) instances. */
export interface AwsClients {
  readonly cloudFormation: CloudFormationClient;
  readonly codeDeploy: CodeDeployClient;
  readonly lambda: LambdaClient;
  readonly cloudWatch: CloudWatchClient;
}

export interface AwsClientOptions {
  /** Region of the environment (from config, or `--region`). */
  readonly region: string;
  /** Named profile (`--profile`); the default credential chain otherwise. */
  readonly profile?: string;
  /**
   * Attempts per call, including the first. Throttling and transient errors are retried with
   * exponential backoff; adaptive mode also slows the client down while AWS throttles it.
   * @default 8
   */
  readonly maxAttempts?: number;
  /**
   * Time allowed for one HTTP request before it is abandoned (and retried).
   * @default 15 seconds
   */
  readonly requestTimeoutMs?: number;
}

export function createAwsClients(options: AwsClientOptions): AwsClients {
  const config = {
    region: options.region,
    ...(options.profile ? { profile: options.profile } : {}),
    maxAttempts: options.maxAttempts ?? 8,
    retryMode: 'adaptive',
    requestHandler: { connectionTimeout: 5_000, requestTimeout: options.requestTimeoutMs ?? 15_000 },
  };
  return {
    cloudFormation: new CloudFormationClient(config),
    codeDeploy: new CodeDeployClient(config),
    lambda: new LambdaClient(config),
    cloudWatch: new CloudWatchClient(config),
  };
}

/** The outputs of `<Stage>-Stateless` that the CLI reads (shared contract with the stacks). */
export interface ServiceOutputs {
  readonly stackName: string;
  readonly functionName: string;
  readonly aliasName: string;
  readonly codeDeployApplication: string;
  readonly deploymentGroupName: string;
  readonly apiUrl: string;
  /**
   * The traffic hooks every deployment runs, hook → function name, from the outputs
   * `MigrationGateFunctionName` (BeforeAllowTraffic) and `SmokeTestFunctionName`
   * (AfterAllowTraffic). Empty when the stack does not export them (an older deployment).
   */
  readonly hooks: Readonly<Partial<Record<HookName, string>>>;
}

/** The CodeDeploy lifecycle hooks of a Lambda deployment that the stack provides functions for. */
export type HookName = 'BeforeAllowTraffic' | 'AfterAllowTraffic';

/** Stack output → the hook it names (shared contract with lib/deployment and the stateless stack). */
export const HOOK_OUTPUTS: Readonly<Record<string, HookName>> = {
  MigrationGateFunctionName: 'BeforeAllowTraffic',
  SmokeTestFunctionName: 'AfterAllowTraffic',
};

const REQUIRED_OUTPUTS = {
  FunctionName: 'functionName',
  AliasName: 'aliasName',
  CodeDeployApplication: 'codeDeployApplication',
  DeploymentGroupName: 'deploymentGroupName',
  ApiUrl: 'apiUrl',
} as const;

/** CloudFormation name of an environment's stateless stack: `Staging-Stateless`. */
export function statelessStackName(environment: string): string {
  return `${environment.charAt(0).toUpperCase()}${environment.slice(1)}-Stateless`;
}

/**
 * Reads the outputs the CLI needs from the stack.
 * @throws CliError(MISSING_STACK) naming the stack, region and every missing output.
 */
export async function readServiceOutputs(
  cloudFormation: CloudFormationClient,
  stackName: string,
  region: string,
  signal?: AbortSignal,
): Promise<ServiceOutputs> {
  let outputs: Record<string, string>;
  try {
    const response = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }), {
      abortSignal: signal,
    });
    const stack = response.Stacks?.[0];
    if (!stack) throw missingStack(stackName, region);
    outputs = Object.fromEntries(
      (stack.Outputs ?? []).flatMap((o) =>
        o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue]] : [],
      ),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      throw missingStack(stackName, region);
    }
    throw error;
  }
  const missing = Object.keys(REQUIRED_OUTPUTS).filter((key) => !outputs[key]);
  if (missing.length > 0) {
    throw new CliError(
      `Stack ${stackName} in ${region} lacks the output${missing.length === 1 ? '' : 's'} ${missing.join(', ')}. ` +
        'Deploy the current version of the app (npx cdk deploy) so the stack exports them.',
      ExitCode.MISSING_STACK,
    );
  }
  const entries = Object.entries(REQUIRED_OUTPUTS).map(([key, field]) => [field, outputs[key]]);
  const hooks = Object.fromEntries(
    Object.entries(HOOK_OUTPUTS).flatMap(([key, hook]) => (outputs[key] ? [[hook, outputs[key]]] : [])),
  );
  return { stackName, ...Object.fromEntries(entries), hooks } as ServiceOutputs;
}

function missingStack(stackName: string, region: string): CliError {
  return new CliError(
    `Stack ${stackName} was not found in ${region}. Check --env, --region and --profile (the account ` +
      'the credentials belong to), or deploy the environment first.',
    ExitCode.MISSING_STACK,
  );
}

const CREDENTIAL_ERRORS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'CredentialsProviderError',
  'TokenProviderError',
]);

/** True when the error means the caller's AWS credentials are missing, expired or invalid. */
export function isCredentialError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    CREDENTIAL_ERRORS.has(error.name) ||
    /\b(token|credentials?)\b.*\b(expired|missing)\b/i.test(error.message)
  );
}

/** True when the error comes from an aborted call (Ctrl-C). */
export function isAbortError(error: unknown): boolean {
  // Checked by name: an AbortError may be a DOMException, not `instanceof Error` in every realm.
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError';
}
