// Synthesizes the whole app once, in-process, exactly as `cdk synth` does (built-in CloudFormation
// validation on, every policy pack attached), and prints where the time went as JSON:
//   moduleLoad   requiring the constructs (aws-cdk-lib modules, cdk-nag, cdk-monitoring-constructs)
//   construct    building the construct tree (our construct code and aws-cdk-lib's)
//   validation   CDK's built-in CloudFormation validation (the @aws/cloudformation-validate engine)
//   policyPacks  the cdk-nag packs and ProductionReadinessChecks
//   synthesis    the rest of app.synth(): resolving tokens, writing templates, staging assets
// The phases are timed by wrapping the plugins' validate methods, not by switching anything off.
// Each phase is reported in wall time and in CPU time of this process (all its threads: V8's
// background compilers and GC included); on a shared machine CPU time is the steadier measure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const started = performance.now();
const cpuStarted = cpuMs();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cdk = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildShipshapeApp } = require('../lib/app') as typeof import('../lib/app');
const loaded = performance.now();
const cpuLoaded = cpuMs();

const spent = { validation: 0, policyPacks: 0 };
const spentCpu = { validation: 0, policyPacks: 0 };
interface Validating {
  validate(context: unknown): unknown;
}
function timeValidate(prototype: Validating, bucket: keyof typeof spent): void {
  const original = prototype.validate;
  prototype.validate = function (this: Validating, context: unknown) {
    const t = performance.now();
    const c = cpuMs();
    try {
      return original.call(this, context);
    } finally {
      spent[bucket] += performance.now() - t;
      spentCpu[bucket] += cpuMs() - c;
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
const cpuConstructed = cpuMs();
app.synth();
const done = performance.now();
const cpuDone = cpuMs();
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
    cpu: {
      moduleLoad: ms(cpuLoaded - cpuStarted),
      construct: ms(cpuConstructed - cpuLoaded),
      validation: ms(spentCpu.validation),
      policyPacks: ms(spentCpu.policyPacks),
      synthesis: ms(cpuDone - cpuConstructed - spentCpu.validation - spentCpu.policyPacks),
      total: ms(cpuDone - cpuStarted),
    },
  }),
);
