/**
 * The audit report for a terminal (default) and for a pull-request comment (Markdown). Both
 * say first whether the app is ready, then which stacks were treated as production and why,
 * then the findings in the order to work them: blockers, hardening, cleanup.
 */
import type { AuditFinding, AuditReport } from '../audit';
import { GROUP_TITLES, SEVERITIES, type Severity } from '../rule';

const SEVERITY_TITLES: Readonly<Record<Severity, string>> = {
  blocker: 'Launch blockers',
  hardening: 'Hardening',
  cleanup: 'Cleanup',
};

function where(f: AuditFinding): string {
  if (!f.stack) return 'the whole assembly';
  return `${f.stack} ${f.logicalId ?? ''}${f.path ? ` (${f.path})` : ''}`.trim();
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `NOT READY: 2 blockers, 1 hardening, 0 cleanup (score 64%)`. */
export function verdictLine(report: AuditReport): string {
  const { blocker, hardening, cleanup } = report.counts;
  return (
    `${report.verdict}: ${plural(blocker, 'blocker')}, ${hardening} hardening, ${cleanup} cleanup ` +
    `(readiness score ${report.score}%, severity-weighted)`
  );
}

function productionLines(report: AuditReport): string[] {
  const lines = report.stacks.map(
    (s) => `  ${s.production ? 'production    ' : 'not production'}  ${s.name}  (${s.productionReason})`,
  );
  if (!report.stacks.some((s) => s.production)) {
    lines.push(
      '  No stack was treated as production: the production-only checks (Multi-AZ, deletion protection)',
      '  did not run. Pass --production (or --production-stack <name>) if this app is going to production.',
    );
  }
  return lines;
}

/** The human-readable report. `verbose` also lists acknowledged findings with their reasons. */
export function formatAuditText(report: AuditReport, { verbose = false } = {}): string {
  const lines: string[] = [`Production-readiness audit of ${report.assembly}`, '', verdictLine(report), ''];
  lines.push('Stacks:', ...productionLines(report), '');
  for (const severity of SEVERITIES) {
    const findings = report.findings.filter((f) => f.severity === severity);
    if (findings.length === 0) continue;
    lines.push(`${SEVERITY_TITLES[severity]} (${findings.length})`);
    let group = '';
    for (const f of findings) {
      if (f.group !== group) {
        group = f.group;
        lines.push(`  ${GROUP_TITLES[f.group]}`);
      }
      lines.push(`    ${severity.toUpperCase().padEnd(9)} ${f.rule}  ${where(f)}`);
      for (const reason of f.reasons) lines.push(`              - ${reason}`);
      lines.push(`              fix: ${f.fix}`);
    }
    lines.push('');
  }
  if (report.findings.length === 0) lines.push('No findings.', '');
  if (report.acknowledged.length > 0) {
    lines.push(
      `Acknowledged next to the resource: ${report.acknowledged.length}${verbose ? '' : ' (--verbose lists them)'}`,
    );
    if (verbose) {
      for (const a of report.acknowledged) {
        lines.push(`  ${a.rule}  ${a.stack} ${a.logicalId} (as ${a.acknowledgedAs}): ${a.reason}`);
      }
    }
    lines.push('');
  }
  lines.push(`Result: ${report.verdict}`);
  return lines.join('\n');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The report as GitHub-flavoured Markdown, for a pull-request comment. */
export function formatAuditMarkdown(report: AuditReport): string {
  const icon = report.verdict === 'READY' ? '✅' : '❌';
  const lines: string[] = [`## ${icon} Production readiness: ${verdictLine(report)}`, ''];
  lines.push('| Stack | Production | Why |', '| --- | --- | --- |');
  for (const s of report.stacks)
    lines.push(`| \`${cell(s.name)}\` | ${s.production ? 'yes' : 'no'} | ${cell(s.productionReason)} |`);
  if (!report.stacks.some((s) => s.production)) {
    lines.push(
      '',
      '> No stack was treated as production, so Multi-AZ and deletion protection were not checked. Pass `--production` if this app is going to production.',
    );
  }
  lines.push('');
  for (const severity of SEVERITIES) {
    const findings = report.findings.filter((f) => f.severity === severity);
    if (findings.length === 0) continue;
    lines.push(`### ${SEVERITY_TITLES[severity]} (${findings.length})`, '');
    lines.push('| Group | Rule | Resource | Why | Fix |', '| --- | --- | --- | --- | --- |');
    for (const f of findings) {
      lines.push(
        `| ${GROUP_TITLES[f.group]} | \`${f.rule}\` | ${cell(where(f))} | ${cell(f.reasons.join('; '))} | ${cell(f.fix)} |`,
      );
    }
    lines.push('');
  }
  if (report.findings.length === 0) lines.push('No findings.', '');
  if (report.acknowledged.length > 0) {
    lines.push(`<details><summary>${report.acknowledged.length} acknowledged finding(s)</summary>`, '');
    lines.push('| Rule | Resource | Acknowledged as | Reason |', '| --- | --- | --- | --- |');
    for (const a of report.acknowledged) {
      lines.push(
        `| \`${a.rule}\` | ${cell(`${a.stack} ${a.logicalId}`)} | \`${a.acknowledgedAs}\` | ${cell(a.reason)} |`,
      );
    }
    lines.push('', '</details>', '');
  }
  return lines.join('\n');
}
