/**
 * Test doubles for the operator CLI: an in-memory service (alias, versions with their schema
 * declarations, CodeDeploy history) behind aws-sdk-client-mock, a fake clock whose sleep returns
 * at once, scripted health checks and answers, and buffers for stdout/stderr.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentsCommand,
  CodeDeployClient,
  CreateDeploymentCommand,
  type DeploymentInfo,
  GetDeploymentCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients } from '../../lib/cli/aws';
import type { CommandDeps } from '../../lib/cli/command';
import type { HealthResult } from '../../lib/cli/deployments';

export const HOOKS = {
  BeforeAllowTraffic: 'Staging-Stateless-MigrationGate',
  AfterAllowTraffic: 'Staging-Stateless-SmokeTest',
};

export const OUTPUTS = {
  FunctionName: 'Staging-Stateless-ApiFunction',
  AliasName: 'live',
  CodeDeployApplication: 'Staging-Stateless-ApiDeployApp',
  DeploymentGroupName: 'Staging-Stateless-ApiDeployGroup',
  ApiUrl: 'https://d111111abcdef8.cloudfront.net/',
  HttpApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
  MigrationGateFunctionName: HOOKS.BeforeAllowTraffic,
  SmokeTestFunctionName: HOOKS.AfterAllowTraffic,
} as const;

const START = Date.parse('2026-11-22T03:00:00Z');

export function appSpec(from: string, to: string, hooks: Record<string, string> = HOOKS): string {
  return JSON.stringify({
    version: 0.0,
    Resources: [
      {
        live: {
          Type: 'AWS::Lambda::Function',
          Properties: { Name: OUTPUTS.FunctionName, Alias: 'live', CurrentVersion: from, TargetVersion: to },
        },
      },
    ],
    Hooks: Object.entries(hooks).map(([k, v]) => ({ [k]: v })),
  });
}

/** A deployment record as CodeDeploy returns it. */
export function deployment(
  id: string,
  from: string,
  to: string,
  status: DeploymentInfo['status'],
  minutesAgo: number,
  extra: Partial<DeploymentInfo> = {},
): DeploymentInfo {
  const createTime = new Date(START - minutesAgo * 60_000);
  return {
    deploymentId: id,
    status,
    creator: 'user',
    createTime,
    completeTime: ['Succeeded', 'Failed', 'Stopped'].includes(status ?? '')
      ? new Date(createTime.getTime() + 4 * 60_000 + 12_000)
      : undefined,
    revision: { revisionType: 'AppSpecContent', appSpecContent: { content: appSpec(from, to) } },
    ...extra,
  };
}

export interface FakeWorldOptions {
  /** Live alias. */
  readonly alias?: { version: string; weights?: Record<string, number> };
  /** Published versions and their SHIPSHAPE_SCHEMA_VERSION. */
  readonly versions?: Record<string, string | undefined>;
  /** SHIPSHAPE_SCHEMA_CONTRACTS per version (`null`: not set); `none` for versions not listed. */
  readonly contracts?: Record<string, string | null>;
  /** GetFunctionConfiguration of these versions fails with this error. */
  readonly configErrors?: Record<string, Error>;
  readonly deployments?: DeploymentInfo[];
  /** Outputs of the stack; `null` means the stack does not exist. */
  readonly outputs?: Record<string, string> | null;
  /** Polls of a new deployment before it ends. */
  readonly pollsUntilDone?: number;
  /** How a new deployment ends. */
  readonly outcome?: 'Succeeded' | 'Failed';
  /** Health check answers in order; the last one repeats. */
  readonly health?: HealthResult[];
  readonly interactive?: boolean;
  readonly answer?: string;
  readonly stdoutIsTTY?: boolean;
  /** Abort (Ctrl-C) during this sleep (1-based). */
  readonly abortOnSleep?: number;
}

/** An in-memory Shipshape environment behind mocked AWS clients. */
export class FakeWorld {
  public readonly cloudFormation = mockClient(CloudFormationClient);
  public readonly codeDeploy = mockClient(CodeDeployClient);
  public readonly lambda = mockClient(LambdaClient);
  public readonly cloudWatch = mockClient(CloudWatchClient);
  public alias: { version: string; weights: Record<string, number> };
  public readonly deployments: DeploymentInfo[];
  public now = START;
  public stdout = '';
  public stderr = '';
  public readonly healthUrls: string[] = [];
  public readonly questions: string[] = [];
  /** Every call in order, as `Service.Command`. */
  public readonly calls: string[] = [];
  private readonly controller = new AbortController();
  private sleeps = 0;

  constructor(private readonly options: FakeWorldOptions = {}) {
    this.alias = { version: options.alias?.version ?? '42', weights: { ...(options.alias?.weights ?? {}) } };
    this.deployments = [...(options.deployments ?? [deployment('d-PREVIOUS', '41', '42', 'Succeeded', 60)])];
    this.install();
  }

  private install(): void {
    const versions = this.options.versions ?? {
      '40': '0002_heartbeat',
      '41': '0003_accounts_and_notes',
      '42': '0003_accounts_and_notes',
    };
    const record = (name: string) => this.calls.push(name);

    this.cloudFormation.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
      record('CloudFormation.DescribeStacks');
      if (this.options.outputs === null) {
        throw Object.assign(new Error(`Stack with id ${input.StackName} does not exist`), {
          name: 'ValidationError',
        });
      }
      const outputs = this.options.outputs ?? OUTPUTS;
      return {
        Stacks: [
          {
            StackName: input.StackName,
            StackStatus: 'UPDATE_COMPLETE',
            CreationTime: new Date(START),
            Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
          },
        ],
      };
    });

    this.lambda.on(GetAliasCommand).callsFake(() => {
      record('Lambda.GetAlias');
      this.advanceStoppedDeployments();
      const weights =
        Object.keys(this.alias.weights).length > 0
          ? { AdditionalVersionWeights: this.alias.weights }
          : undefined;
      return { Name: 'live', FunctionVersion: this.alias.version, RoutingConfig: weights };
    });
    this.lambda.on(GetFunctionConfigurationCommand).callsFake((input: { Qualifier: string }) => {
      record(`Lambda.GetFunctionConfiguration:${input.Qualifier}`);
      if (!(input.Qualifier in versions)) {
        throw Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' });
      }
      const error = this.options.configErrors?.[input.Qualifier];
      if (error) throw error;
      const schema = versions[input.Qualifier];
      const contracts = this.options.contracts?.[input.Qualifier];
      return {
        Version: input.Qualifier,
        Environment: {
          Variables: {
            ...(schema ? { SHIPSHAPE_SCHEMA_VERSION: schema } : {}),
            ...(contracts === null ? {} : { SHIPSHAPE_SCHEMA_CONTRACTS: contracts ?? 'none' }),
          },
        },
      };
    });
    this.lambda.on(ListVersionsByFunctionCommand).callsFake(() => {
      record('Lambda.ListVersionsByFunction');
      return { Versions: [{ Version: '$LATEST' }, ...Object.keys(versions).map((Version) => ({ Version }))] };
    });

    this.codeDeploy.on(ListDeploymentsCommand).callsFake(() => {
      record('CodeDeploy.ListDeployments');
      return { deployments: this.deployments.map((d) => d.deploymentId!) };
    });
    this.codeDeploy.on(BatchGetDeploymentsCommand).callsFake((input: { deploymentIds: string[] }) => {
      record('CodeDeploy.BatchGetDeployments');
      return {
        deploymentsInfo: this.deployments.filter((d) => input.deploymentIds.includes(d.deploymentId!)),
      };
    });
    this.codeDeploy
      .on(CreateDeploymentCommand)
      .callsFake((input: { revision: { appSpecContent: { content: string } } }) => {
        record('CodeDeploy.CreateDeployment');
        const spec = JSON.parse(
          input.revision.appSpecContent.content.replace('"version":0.0', '"version":"0.0"'),
        ) as {
          Resources: Array<Record<string, { Properties: { CurrentVersion: string; TargetVersion: string } }>>;
        };
        const props = Object.values(spec.Resources[0])[0].Properties;
        const id = `d-NEW${this.deployments.length}`;
        this.deployments.unshift({
          ...deployment(id, props.CurrentVersion, props.TargetVersion, 'InProgress', 0),
          createTime: new Date(this.now),
          revision: {
            revisionType: 'AppSpecContent',
            appSpecContent: { content: input.revision.appSpecContent.content },
          },
        });
        this.polls.set(id, 0);
        return { deploymentId: id };
      });
    this.codeDeploy.on(GetDeploymentCommand).callsFake((input: { deploymentId: string }) => {
      record('CodeDeploy.GetDeployment');
      const info = this.deployments.find((d) => d.deploymentId === input.deploymentId)!;
      const polls = (this.polls.get(input.deploymentId) ?? 0) + 1;
      this.polls.set(input.deploymentId, polls);
      if (info.status === 'InProgress' && polls >= (this.options.pollsUntilDone ?? 3)) {
        const outcome = this.options.outcome ?? 'Succeeded';
        info.status = outcome;
        info.completeTime = new Date(this.now);
        if (outcome === 'Succeeded') {
          const spec = info.revision!.appSpecContent!.content!;
          this.alias = { version: /"TargetVersion":"(\d+)"/.exec(spec)![1], weights: {} };
        } else {
          info.errorInformation = {
            code: 'HOOK_EXECUTION_FAILURE',
            message: 'AfterAllowTraffic hook failed',
          };
        }
      }
      return { deploymentInfo: info };
    });
    this.codeDeploy.on(StopDeploymentCommand).callsFake((input: { deploymentId: string }) => {
      record('CodeDeploy.StopDeployment');
      const info = this.deployments.find((d) => d.deploymentId === input.deploymentId)!;
      info.status = 'Stopped';
      this.polls.set(input.deploymentId, 0);
      return { status: 'Pending', statusMessage: 'Stopping' };
    });
    this.cloudWatch.on(PutMetricDataCommand).callsFake(() => {
      record('CloudWatch.PutMetricData');
      return {};
    });
  }

  private readonly polls = new Map<string, number>();

  /** A stopped deployment with auto-rollback puts the old version back after a few polls. */
  private advanceStoppedDeployments(): void {
    for (const info of this.deployments) {
      if (info.status !== 'Stopped' || !this.polls.has(info.deploymentId!)) continue;
      const polls = this.polls.get(info.deploymentId!)! + 1;
      this.polls.set(info.deploymentId!, polls);
      if (polls >= (this.options.pollsUntilDone ?? 3)) {
        const spec = info.revision!.appSpecContent!.content!;
        this.alias = { version: /"CurrentVersion":"(\d+)"/.exec(spec)![1], weights: {} };
        this.polls.delete(info.deploymentId!);
      }
    }
  }

  /** Calls that change something in AWS. */
  public mutations(): string[] {
    return this.calls.filter((c) =>
      ['CodeDeploy.CreateDeployment', 'CodeDeploy.StopDeployment', 'CloudWatch.PutMetricData'].includes(c),
    );
  }

  public deps(): CommandDeps {
    const health = [...(this.options.health ?? [{ healthy: true, detail: 'HTTP 200' }])];
    return {
      stdout: { write: (t: string) => (this.stdout += t), isTTY: this.options.stdoutIsTTY ?? false },
      stderr: { write: (t: string) => (this.stderr += t) },
      interactive: this.options.interactive ?? false,
      ask: async (question) => {
        this.questions.push(question);
        return this.options.answer ?? '';
      },
      now: () => this.now,
      sleep: async (ms, signal) => {
        this.sleeps += 1;
        if (this.sleeps === this.options.abortOnSleep) this.controller.abort();
        if (signal.aborted)
          throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
        this.now += ms;
      },
      healthCheck: async (url) => {
        this.healthUrls.push(url);
        this.now += 200;
        return health.length > 1 ? health.shift()! : health[0];
      },
      signal: this.controller.signal,
      createClients: async (region) => createAwsClients({ region }),
      pollIntervalMs: 5_000,
    };
  }

  public dispose(): void {
    for (const mock of [this.cloudFormation, this.codeDeploy, this.lambda, this.cloudWatch]) mock.restore();
  }
}
