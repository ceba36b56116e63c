import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadEnvironmentConfig } from '../../lib/config';
import { PipelineConfigError, validatePipelineConfig } from '../../lib/config/pipeline';
import { apiUrlOutput, PipelineStack } from '../../lib/pipeline/pipeline-stack';
import { ShipshapeStage, stageId } from '../../lib/stages/shipshape-stage';
import { newTestApp } from '../helpers/synth';

interface PipelineAction {
  Name: string;
  RunOrder: number;
  ActionTypeId: { Category: string; Provider: string };
  Configuration?: Record<string, unknown>;
}
interface PipelineStage {
  Name: string;
  Actions: PipelineAction[];
}

/** Both environments as the app builds them (the edge's ApiUrl is what the smoke steps request). */
function environmentStages(app: App): ShipshapeStage[] {
  return (['staging', 'production'] as const).map((name) => {
    const config = loadEnvironmentConfig(name);
    return new ShipshapeStage(app, stageId(config), { config });
  });
}

describe('delivery pipeline', () => {
  let template: Template;
  let stages: PipelineStage[];
  let synthCommands: string;

  beforeAll(() => {
    const app = newTestApp();
    const stack = new PipelineStack(app, 'Pipeline', {
      config: validatePipelineConfig(),
      stages: environmentStages(app),
      alarmEmail: 'oncall@example.com',
    });
    template = Template.fromStack(stack);
    const pipeline = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as {
      Properties: { Stages: PipelineStage[] };
    };
    stages = pipeline.Properties.Stages;
    const projects = template.findResources('AWS::CodeBuild::Project', {
      Properties: { Source: { BuildSpec: Match.stringLikeRegexp('npm ci') } },
    });
    synthCommands = JSON.stringify(projects);
  });

  test('is a self-mutating CodePipeline V2 with cross-account keys that rotate', () => {
    template.hasResourceProperties('AWS::CodePipeline::Pipeline', { PipelineType: 'V2', Name: 'Shipshape' });
    expect(stages.map((s) => s.Name)).toContain('UpdatePipeline');
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('pulls the configured branch through the CodeStar connection', () => {
    const source = stages[0].Actions[0];
    expect(source.ActionTypeId).toMatchObject({ Category: 'Source', Provider: 'CodeStarSourceConnection' });
    expect(source.Configuration).toMatchObject({
      FullRepositoryId: 'example/shipshape',
      BranchName: 'main',
      ConnectionArn: validatePipelineConfig().connectionArn,
    });
  });

  test('runs staging, then its smoke test, then approval, then production and its smoke test, in that order', () => {
    const names = stages.map((s) => s.Name);
    expect(names.indexOf('Staging')).toBeGreaterThan(names.indexOf('UpdatePipeline'));
    expect(names.indexOf('Production')).toBeGreaterThan(names.indexOf('Staging'));

    const staging = stages.find((s) => s.Name === 'Staging')!;
    const lastDeploy = Math.max(
      ...staging.Actions.filter((a) => a.ActionTypeId.Category === 'Deploy').map((a) => a.RunOrder),
    );
    const stagingSmoke = staging.Actions.find((a) => a.Name.startsWith('SmokeTestStaging'))!;
    expect(stagingSmoke.RunOrder).toBeGreaterThan(lastDeploy);

    const production = stages.find((s) => s.Name === 'Production')!;
    const approval = production.Actions.find((a) => a.ActionTypeId.Category === 'Approval')!;
    expect(approval.Name).toBe('PromoteToProduction');
    const firstDeploy = Math.min(
      ...production.Actions.filter((a) => a.ActionTypeId.Category === 'Deploy').map((a) => a.RunOrder),
    );
    expect(approval.RunOrder).toBeLessThan(firstDeploy);
    expect(production.Actions.some((a) => a.Name.startsWith('SmokeTestProduction'))).toBe(true);
    expect(staging.Actions.some((a) => a.ActionTypeId.Category === 'Approval')).toBe(false);
  });

  test('deploys the app stages themselves (Staging-Stateful, Production-Stateless ...)', () => {
    const deployed = stages.flatMap((s) =>
      s.Actions.filter((a) => a.ActionTypeId.Category === 'Deploy').map((a) => a.Configuration?.StackName),
    );
    expect(deployed).toEqual(
      expect.arrayContaining([
        'Staging-Stateful',
        'Staging-Stateless',
        'Production-Stateful',
        'Production-Stateless',
      ]),
    );
  });

  test('the synth step installs, lints, type-checks, runs the full suite with its services, checks migrations and synthesizes', () => {
    const order = [
      'npm ci',
      'npm run lint',
      'npm run typecheck',
      'bash scripts/services.sh',
      'npx jest --ci',
      'npx squawk migrations/*.sql',
      'npx tsx scripts/check-migrations.ts',
      "npx cdk synth '**'",
    ];
    const positions = order.map((command) => synthCommands.indexOf(command));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(synthCommands).toMatch(/runtime-versions[^}]*nodejs[^}]*20/);
  });

  test('the smoke steps read the API URL from each stage output', () => {
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Source: { BuildSpec: Match.stringLikeRegexp('curl --fail .*health') },
    });
    const production = stages.find((s) => s.Name === 'Production')!;
    const smoke = production.Actions.find((a) => a.Name.startsWith('SmokeTestProduction'))!;
    expect(JSON.stringify(smoke.Configuration)).toMatch(/API_URL/);
    expect(JSON.stringify(smoke.Configuration)).toMatch(/#\{ProductionStateless[0-9A-F]+\.ApiUrl\}/);
  });

  test('announces a failed execution on the alarm topic', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.codepipeline'],
        'detail-type': ['CodePipeline Pipeline Execution State Change'],
        detail: { state: ['FAILED'] },
      }),
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('AlarmTopicsTicket') } })],
    });
  });
});

describe('pipeline config', () => {
  const valid = {
    account: '111111111111',
    region: 'eu-west-1',
    connectionArn:
      'arn:aws:codeconnections:eu-west-1:111111111111:connection/00000000-0000-4000-8000-000000000000',
    repository: 'example/shipshape',
    branch: 'main',
  };

  test('accepts the checked-in configuration', () => {
    expect(validatePipelineConfig()).toMatchObject({ repository: 'example/shipshape' });
  });

  test('fails when the connection ARN is not a CodeConnections ARN', () => {
    expect(() => validatePipelineConfig({ ...valid, connectionArn: 'arn:aws:s3:::bucket' })).toThrow(
      /connectionArn: got "arn:aws:s3:::bucket"; must be a CodeConnections ARN/,
    );
  });

  test('fails when the repository is not owner/name', () => {
    expect(() => validatePipelineConfig({ ...valid, repository: 'shipshape' })).toThrow(PipelineConfigError);
    expect(() => validatePipelineConfig({ ...valid, repository: 'shipshape' })).toThrow(
      /repository: .* must be owner\/name/,
    );
  });

  test('fails on an unknown field', () => {
    expect(() => validatePipelineConfig({ ...valid, brnach: 'x' })).toThrow(/brnach: unknown field/);
  });

  test('fails when a stage has no ApiUrl to smoke-test', () => {
    // A stage whose stateless stack has no edge (and so no ApiUrl output).
    const edgeless = {
      node: { path: 'Staging' },
      stateless: { node: { tryFindChild: () => undefined } },
    } as unknown as ShipshapeStage;
    expect(() => apiUrlOutput(edgeless)).toThrow(
      /stage 'Staging' has no ApiUrl output, so the pipeline cannot smoke-test it; add the edge/,
    );
  });
});
