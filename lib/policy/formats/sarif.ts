/**
 * The audit report as SARIF 2.1.0, for code-scanning tools (GitHub code scanning, Azure DevOps,
 * SonarQube). One result per finding, located in the template file at the line of the
 * resource's logical id, with its construct path as the logical location.
 * https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { AuditFinding, AuditReport } from '../audit';
import type { Severity } from '../rule';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** SARIF levels: a blocker is an error, hardening a warning, cleanup a note. */
const LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = {
  blocker: 'error',
  hardening: 'warning',
  cleanup: 'note',
};

/** GitHub's `security-severity` (0–10) orders code-scanning alerts. */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = {
  blocker: '9.0',
  hardening: '6.0',
  cleanup: '3.0',
};

/** The 1-based line of `"<logicalId>": {` in a template file, or 1. */
function lineOf(lines: string[] | undefined, logicalId: string | undefined): number {
  if (!lines || !logicalId) return 1;
  const needle = `"${logicalId}": {`;
  const index = lines.findIndex((l) => l.includes(needle));
  return index >= 0 ? index + 1 : 1;
}

export interface SarifOptions {
  /** Directory the artifact URIs are relative to (the repository root in CI). @default process.cwd() */
  readonly baseDir?: string;
  /** The tool version reported. */
  readonly version?: string;
}

/** The SARIF log object (serialize with JSON.stringify). */
export function toSarif(report: AuditReport, options: SarifOptions = {}): Record<string, unknown> {
  const baseDir = options.baseDir ?? process.cwd();
  const templateLines = new Map<string, string[]>();
  const linesOf = (f: AuditFinding): string[] | undefined => {
    if (!f.templateFile) return undefined;
    const path = report.stacks.find((s) => s.name === f.stack)?.templatePath;
    if (!path) return undefined;
    if (!templateLines.has(path)) templateLines.set(path, readFileSync(path, 'utf8').split('\n'));
    return templateLines.get(path);
  };
  const ruleIndex = new Map(report.rules.map((r, i) => [r.ruleId, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'shipshape-audit',
            informationUri: 'https://github.com/shipshape/shipshape/blob/main/lib/policy/RULES.md',
            version: options.version,
            rules: report.rules.map((r) => ({
              id: r.ruleId,
              name: r.id,
              shortDescription: { text: r.title },
              fullDescription: { text: r.why },
              help: { text: `Fix: ${r.fix}`, markdown: `**Fix:** ${r.fix}\n\nChecklist item: ${r.seed}` },
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: {
                group: r.group,
                severity: r.severity,
                'security-severity': SECURITY_SEVERITY[r.severity],
                tags: ['production-readiness', r.group],
              },
            })),
          },
        },
        results: report.findings.map((f) => {
          const path = report.stacks.find((s) => s.name === f.stack)?.templatePath;
          const uri = path ? relative(baseDir, path).split('\\').join('/') : 'cdk.out/manifest.json';
          return {
            ruleId: f.rule,
            ruleIndex: ruleIndex.get(f.rule),
            level: LEVEL[f.severity],
            message: { text: `${f.reasons.join('; ')}. Fix: ${f.fix}` },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri },
                  region: { startLine: lineOf(linesOf(f), f.logicalId) },
                },
                logicalLocations: f.logicalId
                  ? [
                      {
                        name: f.logicalId,
                        fullyQualifiedName: f.path ?? `${f.stack}/${f.logicalId}`,
                        kind: 'resource',
                      },
                    ]
                  : undefined,
              },
            ],
            partialFingerprints: { 'shipshapeFinding/v1': `${f.rule}|${f.stack ?? ''}|${f.logicalId ?? ''}` },
            properties: { group: f.group, severity: f.severity, stack: f.stack },
          };
        }),
      },
    ],
  };
}
