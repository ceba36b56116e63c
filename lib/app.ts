import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type EnvironmentName, ENVIRONMENT_NAMES, RAW_CONFIGS, validateEnvironmentConfig } from './config';
import { validatePipelineConfig } from './config/pipeline';
import { PipelineStack } from './pipeline/pipeline-stack';
import { createEnvironmentStages, type ShipshapeStage } from './stages/shipshape-stage';

/**
 * Builds the reference app: one stage per environment, validated from its raw config (a bad
 * value stops synth here, before any template is written), with the policy packs attached to
 * the whole app so that an unacknowledged finding fails synth.
 */
export function buildShipshapeApp(
  app: App,
  rawConfigs: Record<EnvironmentName, unknown> = RAW_CONFIGS,
): ShipshapeStage[] {
  const configs = ENVIRONMENT_NAMES.map((name) => validateEnvironmentConfig(name, rawConfigs[name]));
  const stages = createEnvironmentStages(app, configs);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // The pipeline deploys these same stages (built once): last, once every stage is complete.
  new PipelineStack(app, 'Pipeline', {
    config: validatePipelineConfig(),
    stages,
    alarmEmail: stages[stages.length - 1].config.alarmEmail,
  });
  return stages;
}
