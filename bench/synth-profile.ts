// Synthesizes the whole app in-process with parts switched off and prints the wall time as JSON.
// The bench runs each mode in a fresh process; the differences between modes attribute synth
// time to Lambda bundling, CDK's built-in CloudFormation validation and the policy packs.
//   full           everything, as `cdk synth` does
//   no-bundling    esbuild bundling skipped
//   no-validation  no bundling, no built-in CloudFormation validation
//   no-policy      none of the above, and no cdk-nag packs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildShipshapeApp } from '../lib/app';

const MODES = ['full', 'no-bundling', 'no-validation', 'no-policy'] as const;
const mode = process.argv[2] as (typeof MODES)[number];
if (!MODES.includes(mode)) throw new Error(`usage: synth-profile.ts <${MODES.join('|')}>`);

const outdir = mkdtempSync(join(tmpdir(), 'shipshape-bench-'));
const started = performance.now();
const app = new App({
  outdir,
  context: mode === 'full' ? {} : { 'aws:cdk:bundling-stacks': [] },
  builtinCloudFormationValidation: mode === 'full' || mode === 'no-bundling',
});
buildShipshapeApp(app, { policyChecks: mode !== 'no-policy' });
app.synth();
const ms = Math.round(performance.now() - started);
rmSync(outdir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ mode, ms }));
