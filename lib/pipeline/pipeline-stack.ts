import { type CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../config/pipeline';
import { AlarmTopics } from '../observability/alarm-topics';
import type { ShipshapeStage } from '../stages/shipshape-stage';
import { DeliveryPipeline } from './delivery-pipeline';

/** Props of {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  readonly config: PipelineConfig;
  /** The app's environment stages in promotion order (staging, production). */
  readonly stages: readonly ShipshapeStage[];
  /** Who hears about a failed pipeline execution. */
  readonly alarmEmail: string;
}

/**
 * The delivery pipeline's own stack, at app level beside the environment stages: the pipeline
 * deploys those very stages (no second copy is built, so `cdk synth '**'` synthesizes each
 * environment once and `cdk deploy 'Staging/*'` keeps working unchanged). Every stage but the
 * first waits for a manual approval.
 */
export class PipelineStack extends Stack {
  public readonly pipeline: DeliveryPipeline;
  public readonly alarmTopics: AlarmTopics;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, {
      description: 'Shipshape delivery pipeline: staging, approval, production',
      ...props,
      env: props.env ?? { account: props.config.account, region: props.config.region },
    });
    this.alarmTopics = new AlarmTopics(this, 'AlarmTopics', { pageEmail: props.alarmEmail });
    this.pipeline = new DeliveryPipeline(this, 'Pipeline', {
      config: props.config,
      alarmTopic: this.alarmTopics.ticket,
      environments: props.stages.map((stage, index) => ({
        stage,
        apiUrl: apiUrlOutput(stage),
        requiresApproval: index > 0,
      })),
    });
  }
}

/** The `ApiUrl` output of a stage's stateless stack (the edge adds it). */
export function apiUrlOutput(stage: ShipshapeStage): CfnOutput {
  const output = stage.stateless.node.tryFindChild('ApiUrl');
  if (!output) {
    throw new Error(
      `PipelineStack: stage '${stage.node.path}' has no ApiUrl output, so the pipeline cannot smoke-test it; ` +
        'add the edge (StatelessStack.addEdge) before creating the pipeline',
    );
  }
  return output as CfnOutput;
}
