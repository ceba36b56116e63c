/**
 * The audit on the common MVP shapes (test/fixtures/audit/): every planted gap is found, in the
 * right group, and nothing else; the corrected twin has no finding at all. The cdk-nag pack runs
 * in the same synth and must report the same per-resource gaps: one rule set, two front ends.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { ASSEMBLY_RULES, auditAssembly, type AuditReport, ProductionReadinessChecks } from '../../lib/policy';
import { MVP_FIXTURES, type Fixture, type Variant } from '../fixtures/audit';
import { type PolicyFinding, readFindings } from '../helpers/synth';

interface Synthesized {
  readonly report: AuditReport;
  readonly pack: PolicyFinding[];
}

const root = mkdtempSync(join(tmpdir(), 'audit-mvp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function synth(fixture: Fixture, variant: Variant): Synthesized {
  const outdir = join(root, `${fixture.name.replace(/\W+/g, '-')}-${variant}`);
  const app = fixture.build(outdir, variant);
  Validations.of(app).addPlugins(new ProductionReadinessChecks(app));
  try {
    app.synth();
  } catch (error) {
    // The pack fails synth on findings, after writing the assembly and the validation report;
    // any other failure is the fixture's own.
    if (!existsSync(join(outdir, 'validation-report.json'))) throw error;
  }
  return {
    report: auditAssembly(outdir),
    pack: readFindings(outdir).filter((f) => f.plugin === 'ProductionReadiness'),
  };
}

function resourceType(report: AuditReport, stack: string | undefined, logicalId: string): string | undefined {
  const file = report.stacks.find((s) => s.name === stack)?.templatePath;
  if (!file) return undefined;
  const template = JSON.parse(readFileSync(file, 'utf8')) as { Resources: Record<string, { Type: string }> };
  return template.Resources[logicalId]?.Type;
}

const ASSEMBLY_RULE_IDS = new Set(ASSEMBLY_RULES.map((r) => r.id));
const under = (path: string | undefined, prefix: string) =>
  path === prefix || (path ?? '').startsWith(`${prefix}/`);

describe.each(MVP_FIXTURES.map((f) => [f.name, f] as const))('%s', (_name, fixture) => {
  let gapped: Synthesized;
  let corrected: Synthesized;
  beforeAll(() => {
    gapped = synth(fixture, 'gapped');
    corrected = synth(fixture, 'corrected');
  });

  test.each(fixture.planted.map((p) => [p.rule, p.path, p] as const))(
    'finds the planted %s gap at %s, in its group',
    (_rule, _path, planted) => {
      const found = gapped.report.findings.filter(
        (f) =>
          f.rule === `ProductionReadiness-${planted.rule}` &&
          (planted.path === 'assembly' ? f.stack === undefined : under(f.path, planted.path)),
      );
      expect(found).toHaveLength(1);
      expect(found[0].group).toBe(planted.group);
      expect(found[0].reasons.length).toBeGreaterThan(0);
      expect(found[0].fix.length).toBeGreaterThan(0);
    },
  );

  test('each finding shows the fix for its own kind of resource', () => {
    const rules = new Map(gapped.report.rules.map((r) => [r.ruleId, r]));
    for (const f of gapped.report.findings) {
      const type = f.logicalId ? resourceType(gapped.report, f.stack, f.logicalId) : undefined;
      const specific = type ? rules.get(f.rule)?.fixByType?.[type] : undefined;
      if (specific && f.rule !== 'ProductionReadiness-StatefulRetain')
        expect(`${f.rule} ${type}: ${f.fix}`).toBe(`${f.rule} ${type}: ${specific}`);
    }
  });

  test('reports nothing that was not planted', () => {
    const unplanted = gapped.report.findings.filter(
      (f) =>
        !fixture.planted.some(
          (p) =>
            f.rule === `ProductionReadiness-${p.rule}` &&
            (p.path === 'assembly' ? f.stack === undefined : under(f.path, p.path)),
        ),
    );
    expect(unplanted.map((f) => `${f.rule} ${f.path ?? 'assembly'}: ${f.reasons.join('; ')}`)).toEqual([]);
  });

  test('says NOT READY, with the blockers first', () => {
    expect(gapped.report.verdict).toBe('NOT READY');
    const severities = gapped.report.findings.map((f) => f.severity);
    expect(severities.indexOf('blocker')).toBe(0);
    expect(severities.lastIndexOf('blocker')).toBeLessThan(
      severities.indexOf('hardening') === -1 ? Infinity : severities.indexOf('hardening'),
    );
  });

  test('treats the app as production and says why', () => {
    const production = gapped.report.stacks.filter((s) => s.production);
    expect(production.length).toBeGreaterThan(0);
    expect(production.every((s) => /tag|stage name|stack name/.test(s.productionReason))).toBe(true);
  });

  test('the cdk-nag pack reports the same per-resource gaps', () => {
    for (const planted of fixture.planted.filter((p) => !ASSEMBLY_RULE_IDS.has(p.rule))) {
      const hit = gapped.pack.some(
        (f) => f.rule === `ProductionReadiness-${planted.rule}` && under(f.path, planted.path),
      );
      expect(`${planted.rule} at ${planted.path}: ${hit ? 'found' : 'missed'}`).toBe(
        `${planted.rule} at ${planted.path}: found`,
      );
    }
  });

  test('the corrected twin has no finding, from the audit or the pack, and is READY', () => {
    expect(
      corrected.report.findings.map((f) => `${f.rule} ${f.path ?? 'assembly'}: ${f.reasons.join('; ')}`),
    ).toEqual([]);
    expect(corrected.pack.map((f) => `${f.rule} ${f.path}`)).toEqual([]);
    expect(corrected.report.verdict).toBe('READY');
    expect(corrected.report.score).toBe(100);
  });
});
