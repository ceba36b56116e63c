import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import { type EnvironmentName, ENVIRONMENT_NAMES, RAW_CONFIGS, validateEnvironmentConfig } from './config';
import { validatePipelineConfig } from './config/pipeline';
import { PipelineStack } from './pipeline/pipeline-stack';
import type { ServiceApplication } from './service/application';
import { ProductionReadinessChecks } from './policy/production-readiness-checks';
import { createEnvironmentStages, type ShipshapeStage } from './stages/shipshape-stage';

/** Options of {@link buildShipshapeApp}. */
export interface BuildShipshapeAppOptions {
  /**
   * Raw (unvalidated) configuration of every environment.
   * @default - the checked-in configs of lib/config
   */
  readonly rawConfigs?: Record<EnvironmentName, unknown>;

  /**
   * Attach the policy packs (cdk-nag) to the whole app.
   * @default true
   */
  readonly policyChecks?: boolean;

  /**
   * The service both environments run: an adopter's code, migrations and checks.
   * @default - the sample API of this repository
   */
  readonly application?: ServiceApplication;

  /**
   * The staging -> production delivery pipeline (CDK Pipelines), from its raw config; `false`
   * leaves it out (deploy with `cdk deploy` or your own CI).
   * @default - the checked-in pipeline config of lib/config/pipeline.ts
   */
  readonly pipeline?: unknown;
}

/**
 * Builds the reference app: one stage per environment, validated from its raw config (a bad
 * value stops synth here, before any template is written), with the policy packs attached to
 * the whole app so that an unacknowledged finding fails synth.
 */
export function buildShipshapeApp(app: App, options: BuildShipshapeAppOptions = {}): ShipshapeStage[] {
  const rawConfigs = options.rawConfigs ?? RAW_CONFIGS;
  const configs = ENVIRONMENT_NAMES.map((name) => validateEnvironmentConfig(name, rawConfigs[name]));
  const stages = createEnvironmentStages(app, configs, options.application);
  if (options.policyChecks ?? true) {
    Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app),
      new NIST80053R5Checks(app),
      new ServerlessChecks(app),
      // Production is told apart by the stage's Environment tag. The default 7-day backup
      // minimum matches what the config validator requires of production.
      new ProductionReadinessChecks(app),
    );
  }
  // The pipeline deploys these same stages (built once): last, once every stage is complete.
  if (options.pipeline !== false) {
    new PipelineStack(app, 'Pipeline', {
      config: validatePipelineConfig(options.pipeline),
      stages,
      alarmEmail: stages[stages.length - 1].config.alarmEmail,
    });
  }
  return stages;
}
