import { mkdtempSync } from 'node:fs';
import { App, CloudFormationValidatePlugin } from 'aws-cdk-lib';
import { buildShipshapeApp } from '../lib/app';
const times: Record<string, number[]> = {};
function wrap(obj: any, name: string, label = name) {
  const orig = obj[name];
  obj[name] = function (...args: unknown[]) {
    const t = performance.now();
    try { return orig.apply(this, args); } finally { (times[label] ??= []).push(Math.round(performance.now() - t)); }
  };
}
wrap(CloudFormationValidatePlugin.prototype, 'validate', 'cfnValidate');
wrap(CloudFormationValidatePlugin.prototype, 'initializeEngine', 'cfnInitEngine');
const nag = require('cdk-nag');
for (const k of ['AwsSolutionsChecks', 'NIST80053R5Checks', 'ServerlessChecks']) wrap(nag[k].prototype, 'validate', k);
const prc = require('../lib/policy/production-readiness-checks');
wrap(prc.ProductionReadinessChecks.prototype, 'validate', 'ProductionReadiness');
const app = new App({ outdir: mkdtempSync('/tmp/pkg-prof-') });
let t = performance.now();
buildShipshapeApp(app);
console.log('construct', Math.round(performance.now() - t));
t = performance.now();
app.synth();
console.log('synth', Math.round(performance.now() - t));
console.log(JSON.stringify(times));
