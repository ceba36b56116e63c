import { App } from 'aws-cdk-lib';
import { buildShipshapeApp } from '../../lib/app';
import { type PolicyFinding, readFindings, SKIP_BUNDLING } from '../helpers/synth';
import { ensureEdge, STAND_IN_ID } from './edge-fixture';

describe('edge policy checks', () => {
  let findings: PolicyFinding[];
  beforeAll(() => {
    const app = new App({ context: SKIP_BUNDLING });
    for (const stage of buildShipshapeApp(app)) ensureEdge(stage);
    try {
      app.synth();
    } catch {
      // Synth throws when a pack reports errors; the report still lists them.
    }
    findings = readFindings(app.outdir).filter((f) => !f.path.split('/').includes(STAND_IN_ID));
  });

  test('both stages with the edge have zero unacknowledged cdk-nag errors and warnings', () => {
    for (const f of findings)
      console.log(`[${f.severity}] ${f.rule} at ${f.path}: ${f.description.slice(0, 160)}`);
    expect(findings.map((f) => `${f.rule} ${f.path}`)).toEqual([]);
  });
});
