/**
 * `npm run policy`: synthesizes both stages with every policy check, including cfn-guard with the
 * AWS Control Tower proactive rules (`@cdklabs/cdk-validator-cfnguard`, its bundled cfn-guard
 * binary runs offline). Guard is kept out of the default synth because it costs seconds per run;
 * the cdk-nag packs run on every synth anyway. Exits 1 on any unacknowledged finding.
 *
 * Exemptions are acknowledgements next to the resource (`Validations.of(x).acknowledge({ id:
 * guardRuleId('<rule>'), reason })`), listed in docs/security.md. No rule is disabled globally.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { buildShipshapeApp } from '../lib/app';

interface Report {
  pluginReports: Array<{
    pluginName: string;
    violations: Array<{
      ruleName: string;
      description?: string;
      violatingConstructs: Array<{ constructPath: string }>;
    }>;
  }>;
}

const started = performance.now();
const outdir = mkdtempSync(join(tmpdir(), 'shipshape-policy-'));
let exitCode = 0;
try {
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  buildShipshapeApp(app);
  // The plugin implements the Beta1 interface, which the current one extends structurally.
  Validations.of(app).addPlugins(new CfnGuardValidator({ maxBuffer: 64 * 1024 * 1024 }));
  try {
    app.synth();
  } catch (error) {
    if (!existsSync(join(outdir, 'validation-report.json'))) throw error;
  }
  const reportFile = join(outdir, 'validation-report.json');
  const report: Report = existsSync(reportFile)
    ? JSON.parse(readFileSync(reportFile, 'utf8'))
    : { pluginReports: [] };
  const findings = report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) =>
      v.violatingConstructs.map(
        (c) => `${p.pluginName}: ${v.ruleName} at ${c.constructPath || '(no construct)'}`,
      ),
    ),
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (findings.length > 0) {
    console.error(`Policy: ${findings.length} unacknowledged finding(s) in ${seconds}s:`);
    for (const f of findings) console.error(`  ${f}`);
    console.error('Fix them, or acknowledge each next to its resource with a reason (see docs/security.md).');
    exitCode = 1;
  } else {
    console.log(
      `Policy: AwsSolutions, NIST 800-53 R5, Serverless, ProductionReadiness and cfn-guard (Control Tower) clean on both stages in ${seconds}s.`,
    );
  }
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
process.exit(exitCode);
