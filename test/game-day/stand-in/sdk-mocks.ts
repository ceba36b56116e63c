/**
 * The AWS SDK clients of the real CLI and the real hook handlers, pointed at a {@link World}
 * through aws-sdk-client-mock (`callsFake`). A call the stand-in does not implement fails loudly
 * rather than answering `undefined`.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetDeploymentsCommand,
  CodeDeployClient,
  CreateDeploymentCommand,
  type DeploymentInfo,
  GetDeploymentCommand,
  GetDeploymentGroupCommand,
  ListDeploymentsCommand,
  PutLifecycleEventHookExecutionStatusCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { Deployment } from './codedeploy';
import { LambdaService } from './lambda';
import type { World } from './world';

/** The secrets' values in the stand-in's Secrets Manager. */
export const SECRETS = { originVerify: 'origin-verify-value', smokePassword: 'smoke-password-Aa1!' };

export function installSdkMocks(world: World): Array<{ restore(): void }> {
  const notSupported = (service: string) => async (input: unknown) => {
    throw new Error(
      `${service}: the stand-in does not implement this call (${JSON.stringify(input).slice(0, 200)})`,
    );
  };
  const cfn = mockClient(CloudFormationClient);
  cfn.onAnyCommand().callsFake(notSupported('CloudFormation'));
  cfn.on(DescribeStacksCommand).callsFake(async (input: { StackName?: string }) => {
    if (input.StackName !== world.options.stackName) {
      throw Object.assign(new Error(`Stack with id ${input.StackName} does not exist`), {
        name: 'ValidationError',
      });
    }
    const outputs = Object.entries(world.options.template.Outputs ?? {}).map(([OutputKey, o]) => ({
      OutputKey,
      OutputValue: world.deployed.resolveString(o.Value),
    }));
    return {
      Stacks: [
        {
          StackName: input.StackName,
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(0),
          Outputs: outputs,
        },
      ],
    };
  });

  const lambda = mockClient(LambdaClient);
  lambda.onAnyCommand().callsFake(notSupported('Lambda'));
  lambda.on(GetAliasCommand).callsFake(async (input: { FunctionName: string; Name: string }) => {
    const { name } = LambdaService.parseName(input.FunctionName);
    const alias = world.lambda.getAlias(name, input.Name);
    return {
      Name: input.Name,
      FunctionVersion: alias.version,
      ...(Object.keys(alias.weights).length > 0
        ? { RoutingConfig: { AdditionalVersionWeights: alias.weights } }
        : {}),
    };
  });
  lambda
    .on(GetFunctionConfigurationCommand)
    .callsFake(async (input: { FunctionName: string; Qualifier?: string }) => {
      const { name, qualifier } = LambdaService.parseName(input.FunctionName, input.Qualifier);
      const config = world.lambda.configuration(name, qualifier);
      return {
        FunctionName: name,
        Version: config.version,
        Description: config.description,
        Environment: { Variables: { ...config.environment } },
      };
    });
  lambda.on(ListVersionsByFunctionCommand).callsFake(async (input: { FunctionName: string }) => {
    const { name } = LambdaService.parseName(input.FunctionName);
    return {
      Versions: ['$LATEST', ...world.lambda.versions(name)].map((Version) => ({
        FunctionName: name,
        Version,
      })),
    };
  });
  lambda
    .on(InvokeCommand)
    .callsFake(async (input: { FunctionName: string; Qualifier?: string; Payload?: Uint8Array }) => {
      const event = input.Payload ? (JSON.parse(Buffer.from(input.Payload).toString('utf8')) as unknown) : {};
      const result = await world.lambda.invoke(input.FunctionName, event, input.Qualifier);
      const text = JSON.stringify(result.payload ?? null);
      return {
        StatusCode: 200,
        ExecutedVersion: result.executedVersion,
        ...(result.functionError ? { FunctionError: result.functionError } : {}),
        Payload: Object.assign(new TextEncoder().encode(text), { transformToString: () => text }),
      };
    });

  const codedeploy = mockClient(CodeDeployClient);
  codedeploy.onAnyCommand().callsFake(notSupported('CodeDeploy'));
  codedeploy.on(CreateDeploymentCommand).callsFake(
    async (input: {
      applicationName: string;
      deploymentGroupName: string;
      deploymentConfigName?: string;
      description?: string;
      revision?: {
        revisionType?: string;
        appSpecContent?: { content?: string };
        string?: { content?: string };
      };
      overrideAlarmConfiguration?: {
        enabled?: boolean;
        alarms?: Array<{ name?: string }>;
        ignorePollAlarmFailure?: boolean;
      };
    }) => {
      const content = input.revision?.appSpecContent?.content ?? input.revision?.string?.content;
      if (!content)
        throw Object.assign(new Error('revision with AppSpec content required'), {
          name: 'RevisionRequiredException',
        });
      const override = input.overrideAlarmConfiguration;
      const d = world.codeDeploy.create({
        applicationName: input.applicationName,
        deploymentGroupName: input.deploymentGroupName,
        deploymentConfigName: input.deploymentConfigName,
        description: input.description,
        appSpec: content,
        overrideAlarmConfiguration: override
          ? {
              enabled: override.enabled === true,
              alarms: (override.alarms ?? []).map((a) => String(a.name)),
              ignorePollAlarmFailure: override.ignorePollAlarmFailure,
            }
          : undefined,
      });
      return { deploymentId: d.deploymentId };
    },
  );
  codedeploy.on(GetDeploymentCommand).callsFake(async (input: { deploymentId: string }) => ({
    deploymentInfo: deploymentInfo(world.codeDeploy.get(input.deploymentId)),
  }));
  codedeploy.on(BatchGetDeploymentsCommand).callsFake(async (input: { deploymentIds?: string[] }) => ({
    deploymentsInfo: (input.deploymentIds ?? []).map((id) => deploymentInfo(world.codeDeploy.get(id))),
  }));
  codedeploy
    .on(ListDeploymentsCommand)
    .callsFake(
      async (input: {
        applicationName?: string;
        deploymentGroupName?: string;
        includeOnlyStatuses?: string[];
      }) => ({
        deployments: [...world.codeDeploy.deployments]
          .reverse()
          .filter(
            (d) =>
              d.applicationName === input.applicationName &&
              d.deploymentGroupName === input.deploymentGroupName,
          )
          .filter((d) => !input.includeOnlyStatuses || input.includeOnlyStatuses.includes(d.status))
          .map((d) => d.deploymentId),
      }),
    );
  codedeploy
    .on(StopDeploymentCommand)
    .callsFake(async (input: { deploymentId: string; autoRollbackEnabled?: boolean }) => {
      world.codeDeploy.stop(input.deploymentId, input.autoRollbackEnabled);
      return { status: 'Pending', statusMessage: 'Stopping' };
    });
  codedeploy
    .on(PutLifecycleEventHookExecutionStatusCommand)
    .callsFake(
      async (input: { deploymentId: string; lifecycleEventHookExecutionId: string; status: string }) => {
        world.codeDeploy.putHookStatus(input.deploymentId, input.lifecycleEventHookExecutionId, input.status);
        return { lifecycleEventHookExecutionId: input.lifecycleEventHookExecutionId };
      },
    );
  codedeploy
    .on(GetDeploymentGroupCommand)
    .callsFake(async (input: { applicationName: string; deploymentGroupName: string }) => {
      const g = world.codeDeploy.group(input.applicationName, input.deploymentGroupName);
      const last = world.codeDeploy.lastSuccessful(input.applicationName, input.deploymentGroupName);
      return {
        deploymentGroupInfo: {
          applicationName: g.applicationName,
          deploymentGroupName: g.deploymentGroupName,
          deploymentConfigName: g.deploymentConfigName,
          computePlatform: 'Lambda',
          alarmConfiguration: {
            enabled: g.alarmConfiguration.enabled,
            alarms: g.alarmConfiguration.alarms.map((name) => ({ name })),
          },
          ...(last
            ? {
                lastSuccessfulDeployment: {
                  deploymentId: last.deploymentId,
                  status: last.status,
                  endTime: new Date(last.completeTime ?? last.createTime),
                  createTime: new Date(last.createTime),
                },
              }
            : {}),
        },
      };
    });

  const cloudwatch = mockClient(CloudWatchClient);
  cloudwatch.onAnyCommand().callsFake(notSupported('CloudWatch'));
  cloudwatch.on(PutMetricDataCommand).callsFake(
    async (input: {
      Namespace: string;
      MetricData?: Array<{
        MetricName: string;
        Value?: number;
        Timestamp?: Date;
        Dimensions?: Array<{ Name: string; Value: string }>;
      }>;
    }) => {
      for (const d of input.MetricData ?? []) {
        const dims = Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]));
        world.store.put(
          input.Namespace,
          d.MetricName,
          dims,
          d.Timestamp?.getTime() ?? world.clock.now(),
          d.Value ?? 0,
        );
      }
      return {};
    },
  );
  cloudwatch.on(DescribeAlarmsCommand).callsFake(async (input: { AlarmNames?: string[] }) => ({
    MetricAlarms: (input.AlarmNames ?? world.alarms.names()).map((AlarmName) => ({
      AlarmName,
      StateValue: world.alarms.state(AlarmName),
    })),
  }));

  const secrets = mockClient(SecretsManagerClient);
  secrets.onAnyCommand().callsFake(notSupported('SecretsManager'));
  secrets.on(GetSecretValueCommand).callsFake(async (input: { SecretId: string }) => {
    const db = world.options.database;
    if (/master-AbCdEf$/.test(input.SecretId)) {
      return {
        SecretString: JSON.stringify({
          username: db.user,
          password: db.password,
          host: db.host,
          port: db.port,
        }),
      };
    }
    if (/OriginVerify/.test(input.SecretId)) return { SecretString: SECRETS.originVerify };
    if (/SmokeTestCredentials/.test(input.SecretId)) return { SecretString: SECRETS.smokePassword };
    throw Object.assign(new Error(`Secrets Manager can't find the specified secret ${input.SecretId}`), {
      name: 'ResourceNotFoundException',
    });
  });
  return [cfn, lambda, codedeploy, cloudwatch, secrets];
}

/** A deployment as GetDeployment returns it (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentInfo.html). */
function deploymentInfo(d: Deployment): DeploymentInfo {
  return {
    applicationName: d.applicationName,
    deploymentGroupName: d.deploymentGroupName,
    deploymentConfigName: d.deploymentConfigName,
    deploymentId: d.deploymentId,
    computePlatform: 'Lambda',
    creator: d.creator as DeploymentInfo['creator'],
    description: d.description,
    status: d.status,
    createTime: new Date(d.createTime),
    ...(d.completeTime !== undefined ? { completeTime: new Date(d.completeTime) } : {}),
    revision: { revisionType: 'AppSpecContent', appSpecContent: { content: d.appSpec } },
    deploymentStyle: { deploymentType: 'BLUE_GREEN', deploymentOption: 'WITH_TRAFFIC_CONTROL' },
    ...(d.errorInformation
      ? {
          errorInformation: { code: d.errorInformation.code as never, message: d.errorInformation.message },
        }
      : {}),
    ...(d.rollbackInfo ? { rollbackInfo: d.rollbackInfo } : {}),
    ...(d.overrideAlarmConfiguration
      ? {
          overrideAlarmConfiguration: {
            enabled: d.overrideAlarmConfiguration.enabled,
            alarms: d.overrideAlarmConfiguration.alarms.map((name) => ({ name })),
          },
        }
      : {}),
    deploymentOverview: {
      Pending: d.status === 'Created' ? 1 : 0,
      InProgress: d.status === 'InProgress' ? 1 : 0,
      Succeeded: d.status === 'Succeeded' ? 1 : 0,
      Failed: d.status === 'Failed' ? 1 : 0,
      Skipped: 0,
      Ready: 0,
    },
  };
}
