import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type EnvironmentName, loadEnvironmentConfig } from '../../lib/config';
import { buildShipshapeApp } from '../../lib/app';
import { ShipshapeStage, stageId } from '../../lib/stages/shipshape-stage';

/** Context that skips esbuild bundling: construct tests assert on templates, not bundles. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

export interface SynthesizedEnvironment {
  readonly stage: ShipshapeStage;
  /** Template of every stack of the stage, by construct id (`Stateful`, `Stateless`, ...). */
  readonly templates: Record<string, Template>;
  /** Shorthand for `templates.Stateful`. */
  readonly stateful: Template;
  /** Shorthand for `templates.Stateless`. */
  readonly stateless: Template;
}

/**
 * An app for construct unit tests: bundling skipped, and CDK's built-in CloudFormation
 * validation off (it costs seconds per synth and warns about the fixed AZs we use on purpose;
 * the whole-app policy test runs it on the real stages).
 */
export function newTestApp(): App {
  return new App({ context: SKIP_BUNDLING, builtinCloudFormationValidation: false });
}

const cache = new Map<EnvironmentName, SynthesizedEnvironment>();

/**
 * Synthesizes one environment (without bundling) and returns its templates. Call it from
 * `beforeAll`: it memoizes per test file, so a file synthesizes each environment once.
 */
export function synthEnvironment(name: EnvironmentName): SynthesizedEnvironment {
  const cached = cache.get(name);
  if (cached) return cached;
  const app = newTestApp();
  const config = loadEnvironmentConfig(name);
  const stage = new ShipshapeStage(app, stageId(config), { config });
  const templates: Record<string, Template> = {};
  for (const stack of stacksOf(stage)) templates[stack.node.id] = Template.fromStack(stack);
  const result = { stage, templates, stateful: templates.Stateful, stateless: templates.Stateless };
  cache.set(name, result);
  return result;
}

function stacksOf(stage: ShipshapeStage): Stack[] {
  return stage.node.children.filter((c): c is Stack => 'templateOptions' in c);
}

/** One policy finding from the validation report: rule, severity and construct path. */
export interface PolicyFinding {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
  readonly description: string;
}

/**
 * Synthesizes the whole reference app with its policy packs and returns every unacknowledged
 * finding (errors and warnings) from the validation report.
 */
export function synthAppFindings(): PolicyFinding[] {
  const app = new App({ context: SKIP_BUNDLING });
  buildShipshapeApp(app);
  try {
    app.synth();
  } catch (e) {
    // Synth throws when a pack reports errors; the report file still lists them.
    if (!existsSync(join(app.outdir, 'validation-report.json'))) throw e;
  }
  return readFindings(app.outdir);
}

export function readFindings(assemblyDir: string): PolicyFinding[] {
  const report = JSON.parse(readFileSync(join(assemblyDir, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{
      pluginName: string;
      violations: Array<{
        ruleName: string;
        severity: string;
        description: string;
        violatingConstructs: Array<{ constructPath: string }>;
      }>;
    }>;
  };
  return report.pluginReports.flatMap((r) =>
    r.violations.flatMap((v) =>
      v.violatingConstructs.map((c) => ({
        plugin: r.pluginName,
        rule: v.ruleName,
        severity: v.severity,
        path: c.constructPath,
        description: v.description,
      })),
    ),
  );
}
