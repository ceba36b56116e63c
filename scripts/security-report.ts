/**
 * `npm run security-report`: synthesizes the app (bundling skipped: acknowledgements do not
 * depend on bundles) and writes docs/security.md, the register of every policy acknowledgement.
 * `--check` compares instead of writing and exits 1 when the file is out of date.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildShipshapeApp } from '../lib/app';
import { readAcknowledgements, renderSecurityReport } from '../lib/policy/security-report';

export const SECURITY_REPORT_PATH = join(__dirname, '..', 'docs', 'security.md');

/** Synthesizes the app and renders the report. */
export function generateSecurityReport(): string {
  const outdir = mkdtempSync(join(tmpdir(), 'shipshape-security-'));
  try {
    const app = new App({
      outdir,
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    // The packs are not needed to read acknowledgements; the nag test runs them.
    buildShipshapeApp(app, { policyChecks: false });
    app.synth();
    return renderSecurityReport(readAcknowledgements(outdir));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const report = generateSecurityReport();
  if (process.argv.includes('--check')) {
    const current = readFileSync(SECURITY_REPORT_PATH, 'utf8');
    if (current !== report) {
      console.error('docs/security.md is out of date: run `npm run security-report`.');
      process.exit(1);
    }
    console.log('docs/security.md is up to date.');
  } else {
    writeFileSync(SECURITY_REPORT_PATH, report);
    console.log(`Wrote ${SECURITY_REPORT_PATH}`);
  }
}
