// Synthesizes the whole app once, in-process, exactly as `cdk synth` does (built-in CloudFormation
// validation on, every policy pack attached), and prints where the time went as JSON:
//   moduleLoad   requiring the constructs (aws-cdk-lib modules, cdk-nag, cdk-monitoring-constructs)
//   construct    building the construct tree (our construct code and aws-cdk-lib's)
//   validation   CDK's built-in CloudFormation validation (the @aws/cloudformation-validate engine)
//   policyPacks  the cdk-nag packs and ProductionReadinessChecks
//   synthesis    the rest of app.synth(): resolving tokens, writing templates, staging assets
// The phases are timed by wrapping the plugins' validate methods, not by switching anything off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const started = performance.now();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cdk = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildShipshapeApp } = require('../lib/app') as typeof import('../lib/app');
const loaded = performance.now();

const spent = { validation: 0, policyPacks: 0 };
interface Validating {
  validate(context: unknown): unknown;
}
function timeValidate(prototype: Validating, bucket: keyof typeof spent): void {
  const original = prototype.validate;
  prototype.validate = function (this: Validating, context: unknown) {
    const t = performance.now();
    try {
      return original.call(this, context);
    } finally {
      spent[bucket] += performance.now() - t;
    }
  };
}
timeValidate(cdk.CloudFormationValidatePlugin.prototype as unknown as Validating, 'validation');
// Every policy pack is a cdk-nag NagPack (ProductionReadinessChecks too).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nag = require('cdk-nag') as typeof import('cdk-nag');
timeValidate(nag.NagPack.prototype as unknown as Validating, 'policyPacks');

const outdir = mkdtempSync(join(tmpdir(), 'shipshape-bench-'));
const app = new cdk.App({ outdir });
buildShipshapeApp(app);
const constructed = performance.now();
app.synth();
const done = performance.now();
rmSync(outdir, { recursive: true, force: true });

const ms = (n: number) => Math.round(n);
process.stdout.write(
  JSON.stringify({
    moduleLoad: ms(loaded - started),
    construct: ms(constructed - loaded),
    validation: ms(spent.validation),
    policyPacks: ms(spent.policyPacks),
    synthesis: ms(done - constructed - spent.validation - spent.policyPacks),
    total: ms(done - started),
  }),
);
