import {
  type CfnElement,
  type CfnOutput,
  Duration,
  Stack,
  type Stage,
  Token,
  Validations,
} from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../config/pipeline';
import { guardRuleId } from '../policy/readiness-rules';

/** One environment the pipeline deploys, in promotion order. */
export interface PipelineEnvironment {
  /** The environment's stage (the same one `cdk deploy 'Staging/*'` deploys). */
  readonly stage: Stage;
  /** The stage's `ApiUrl` output: the post-deploy smoke step requests `${ApiUrl}/health`. */
  readonly apiUrl: CfnOutput;
  /**
   * A person approves before this environment is deployed.
   * @default false
   */
  readonly requiresApproval?: boolean;
}

/** Reusable knobs of {@link DeliveryPipeline}. */
export interface DeliveryPipelineOptions {
  /**
   * Commands of the synth step after `npm ci`: every check a change must pass before any
   * environment sees it.
   * @default - lint, type check, services + full test suite, migration lint and phase/reversibility check, `cdk synth '**'`
   */
  readonly checkCommands?: string[];

  /**
   * Build image of every CodeBuild step (Ubuntu, with `apt-get` for PostgreSQL and Redis).
   * @default codebuild.LinuxBuildImage.STANDARD_7_0
   */
  readonly buildImage?: codebuild.IBuildImage;
}

/** Props of {@link DeliveryPipeline}. */
export interface DeliveryPipelineProps extends DeliveryPipelineOptions {
  readonly config: PipelineConfig;
  /** Environments in promotion order; each is deployed only after the previous one passed. */
  readonly environments: PipelineEnvironment[];
  /** Where a failed pipeline execution is announced. */
  readonly alarmTopic: sns.ITopic;
}

/** The checks of the synth step (run from the repository root on the build image). */
export const DEFAULT_CHECK_COMMANDS: readonly string[] = [
  'npm run lint',
  'npm run typecheck',
  // PostgreSQL and Redis from Ubuntu's packages (postgresql, redis-server), on 127.0.0.1.
  'bash scripts/services.sh',
  'npx jest --ci',
  // The migration linter, then: every migration declares its phase and has a down section.
  'npx squawk migrations/*.sql',
  'npx tsx scripts/check-migrations.ts',
  "npx cdk synth '**' --quiet",
];

/**
 * The delivery pipeline: CDK Pipelines (CodePipeline V2, self-mutating) from a CodeStar
 * connection. Source → synth (lint, types, the full test suite against PostgreSQL and Redis,
 * migration checks, `cdk synth`) → self-update → each environment in order, each followed by a
 * smoke step against its own `ApiUrl`, with a manual approval before the environments that ask
 * for one. Production therefore only ever receives an artifact that deployed and passed smoke
 * in staging. A failed execution is published to the alarm topic.
 */
export class DeliveryPipeline extends Construct {
  /** The CDK Pipelines construct. */
  public readonly pipeline: pipelines.CodePipeline;
  /** The CodePipeline underneath (built eagerly so alarms can hook onto it). */
  public readonly codePipeline: codepipeline.Pipeline;
  /** Announces failed executions. */
  public readonly failureRule: events.Rule;

  constructor(scope: Construct, id: string, props: DeliveryPipelineProps) {
    super(scope, id);
    const { config } = props;
    if (props.environments.length === 0) {
      throw new Error(
        `DeliveryPipeline '${this.node.path}': environments is empty; give at least one stage to deploy`,
      );
    }
    const pipelineAccount = Stack.of(this).account;
    const crossAccount = props.environments.some((e) => e.stage.account !== pipelineAccount);

    const source = pipelines.CodePipelineSource.connection(config.repository, config.branch, {
      connectionArn: config.connectionArn,
      triggerOnPush: true,
    });
    const buildImage = props.buildImage ?? codebuild.LinuxBuildImage.STANDARD_7_0;
    const nodeRuntime = { phases: { install: { 'runtime-versions': { nodejs: '20' } } } };

    const synth = new pipelines.CodeBuildStep('Synth', {
      input: source,
      installCommands: ['npm ci --no-audit --no-fund'],
      commands: [...(props.checkCommands ?? DEFAULT_CHECK_COMMANDS)],
      primaryOutputDirectory: 'cdk.out',
      buildEnvironment: { buildImage, computeType: codebuild.ComputeType.MEDIUM },
      partialBuildSpec: codebuild.BuildSpec.fromObject(nodeRuntime),
      timeout: Duration.minutes(60),
      env: { CI: 'true' },
    });

    this.pipeline = new pipelines.CodePipeline(this, 'Resource', {
      pipelineName: 'Shipshape',
      pipelineType: codepipeline.PipelineType.V2,
      synth,
      selfMutation: true,
      crossAccountKeys: crossAccount,
      enableKeyRotation: crossAccount,
      dockerEnabledForSynth: false,
      codeBuildDefaults: { buildEnvironment: { buildImage } },
    });

    for (const environment of props.environments) {
      const name = environment.stage.stageName;
      const smoke = new pipelines.ShellStep(`SmokeTest${name}`, {
        envFromCfnOutputs: { API_URL: environment.apiUrl },
        commands: [
          'echo "smoke test against $API_URL"',
          // CloudFront may take a moment after the deploy; retry, but never wait forever.
          'curl --fail --silent --show-error --max-time 10 --retry 6 --retry-delay 10 --retry-all-errors "${API_URL%/}/health"',
        ],
      });
      this.pipeline.addStage(environment.stage, {
        pre: environment.requiresApproval
          ? [
              new pipelines.ManualApprovalStep(`PromoteTo${name}`, {
                comment: `Promote to ${name}: the same artifact deployed and passed its smoke test in every earlier environment.`,
              }),
            ]
          : [],
        post: [smoke],
      });
    }

    this.pipeline.buildPipeline();
    this.codePipeline = this.pipeline.pipeline;

    this.failureRule = this.codePipeline.onStateChange('ExecutionFailed', {
      description: 'A Shipshape pipeline execution failed',
      eventPattern: { detail: { state: ['FAILED'] } },
      target: new targets.SnsTopic(props.alarmTopic, {
        message: events.RuleTargetInput.fromText(
          `Pipeline ${events.EventField.fromPath('$.detail.pipeline')} execution ${events.EventField.fromPath('$.detail.execution-id')} FAILED. Runbook: runbooks/pipeline-freeze.md`,
        ),
      }),
    });

    this.acknowledgeFindings();
  }

  /**
   * cdk-nag findings of the resources CDK Pipelines generates, acknowledged one by one (granular
   * ids), each with its reason. The partition renders as `<AWS::Partition>` or literally,
   * depending on feature flags, so ids are built the way cdk-nag renders them.
   */
  private acknowledgeFindings(): void {
    const stack = Stack.of(this);
    const literal = (value: string, pseudo: string) =>
      Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
    const partition = literal(stack.partition, 'Partition');
    const region = literal(stack.region, 'Region');
    const account = literal(stack.account, 'AccountId');
    const iam5 = (what: string, reason: string) => ({ id: `AwsSolutions-IAM5[${what}]`, reason });

    const artifacts =
      'the pipeline artifact bucket and its KMS key only (CDK Pipelines grants object-level read/write on them)';
    const acks = [
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map((action) =>
        iam5(`Action::${action}`, `Artifact access: ${artifacts}.`),
      ),
      ...['kms:ReEncrypt*', 'kms:GenerateDataKey*'].map((action) =>
        iam5(`Action::${action}`, `Artifact encryption: ${artifacts}.`),
      ),
      iam5(
        `Resource::<${stack.getLogicalId(this.codePipeline.artifactBucket.node.defaultChild as CfnElement)}.Arn>/*`,
        'Objects of the pipeline artifact bucket (the pipeline owns every key in it).',
      ),
      iam5(
        'Resource::*',
        'Actions without resource-level permissions used by CDK Pipelines (e.g. codebuild report and cloudformation describe calls of the self-mutation step).',
      ),
      iam5(
        `Resource::arn:*:iam::${account}:role/*`,
        'Self-mutation and asset publishing assume only the CDK bootstrap roles (condition on the aws-cdk:bootstrap-role tag), in any target account.',
      ),
      iam5(
        `Resource::arn:${partition}:codebuild:${region}:${account}:report-group/*`,
        'CodeBuild report groups are named by the pipeline projects at run time.',
      ),
      iam5(
        `Resource::arn:${partition}:logs:${region}:${account}:log-group:/aws/codebuild/*`,
        'CodeBuild log groups are named by the pipeline projects at run time.',
      ),
    ];
    for (const project of this.node
      .findAll()
      .filter((c): c is codebuild.CfnProject => c instanceof codebuild.CfnProject)) {
      const id = stack.getLogicalId(project);
      acks.push(
        iam5(
          `Resource::arn:${partition}:codebuild:${region}:${account}:report-group/<${id}>-*`,
          'Report groups of this one CodeBuild project.',
        ),
        iam5(
          `Resource::arn:${partition}:logs:${region}:${account}:log-group:/aws/codebuild/<${id}>:*`,
          'Log streams of this one CodeBuild project.',
        ),
      );
    }
    for (const support of Object.values(this.codePipeline.crossRegionSupport)) {
      const bucketName = stack.resolve(support.replicationBucket.bucketName) as unknown;
      if (typeof bucketName === 'string') {
        acks.push(
          iam5(
            `Resource::arn:${partition}:s3:::${bucketName}/*`,
            `Objects of the pipeline's replication bucket in ${support.stack.region} (cross-region actions: the edge's us-east-1 stack).`,
          ),
        );
      }
      Validations.of(support.stack).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          'CDK Pipelines replication bucket for the us-east-1 actions: KMS-encrypted, private, holds only pipeline artifacts; access logs would only log the pipeline.',
      });
      // The support stack holds only CDK Pipelines' replication bucket and its key.
      this.acknowledgeArtifactStore(support.stack);
    }
    this.acknowledgeArtifactStore(this.codePipeline.artifactBucket);
    Validations.of(this).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason:
        "CDK Pipelines writes each role's least-privilege statements (its project, the artifact bucket, the bootstrap roles) into that role's own DefaultPolicy; a managed policy would be shareable across roles, which least privilege avoids.",
    });
    Validations.of(this).acknowledge({
      id: guardRuleId('codebuild_project_logging_enabled_check'),
      reason:
        'CodeBuild sends every build log to CloudWatch Logs (/aws/codebuild/<project>) when LogsConfig is absent, which CDK Pipelines leaves out; the rule only accepts an explicit LogsConfig.',
    });
    Validations.of(this.failureRule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'The target is the ticket topic in the same account and region: EventBridge retries delivery for 24 hours, and the failed execution stays visible in CodePipeline; a dead-letter queue of notifications would notify nobody.',
    });
    Validations.of(this.codePipeline.artifactBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Pipeline artifact bucket: KMS-encrypted, TLS-only, no public access, written and read only by this pipeline; access logs would only log the pipeline itself.',
    });
    Validations.of(this).acknowledge(...acks);
  }

  /** Policy findings of an artifact bucket (and its key) that CDK Pipelines creates. */
  private acknowledgeArtifactStore(scope: Construct): void {
    const transient =
      'Pipeline artifacts are transient build outputs, reproducible from the commit: replication, versioning, object lock, event notifications and access logs would keep or watch copies nobody needs. KMS-encrypted, TLS-only, private.';
    for (const id of [
      'NIST.800.53.R5-S3BucketLoggingEnabled',
      'NIST.800.53.R5-S3BucketReplicationEnabled',
      'NIST.800.53.R5-S3BucketVersioningEnabled',
      guardRuleId('s3_bucket_logging_enabled_check'),
      guardRuleId('s3_bucket_object_lock_enabled_check'),
      guardRuleId('s3_bucket_versioning_enabled_check'),
      guardRuleId('s3_event_notifications_enabled_check'),
      guardRuleId('s3_lifecycle_policy_check'),
    ]) {
      Validations.of(scope).acknowledge({ id, reason: transient });
    }
    const key = scope instanceof Stack ? scope : (this.codePipeline.artifactBucket.encryptionKey ?? scope);
    Validations.of(key).acknowledge({
      id: guardRuleId('kms_create_grant_aws_service_check'),
      reason:
        'Key policy generated by CDK Pipelines for the artifact store; only the pipeline, its CodeBuild projects and the bootstrap roles use the key, none of which is granted kms:CreateGrant.',
    });
  }
}
