import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '../../scripts/compare-logical-ids.mjs');

/** A one-stack cloud assembly holding `resources`. */
function assembly(resources: Record<string, { Type: string; DeletionPolicy?: string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ids-test-'));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: {
        Stack: {
          type: 'aws:cloudformation:stack',
          displayName: 'Stage/Stack',
          properties: { templateFile: 'Stack.template.json' },
        },
      },
    }),
  );
  writeFileSync(join(dir, 'Stack.template.json'), JSON.stringify({ Resources: resources }));
  return dir;
}

function run(...args: string[]) {
  const r = spawnSync('node', [SCRIPT, ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

const BEFORE = {
  DatabaseInstance1: { Type: 'AWS::RDS::DBInstance', DeletionPolicy: 'Snapshot' },
  Alarm1: { Type: 'AWS::CloudWatch::Alarm' },
  FnCurrentVersionAB12CD340123456789abcdef0123456789abcdef: { Type: 'AWS::Lambda::Version' },
};

describe('scripts/compare-logical-ids.mjs', () => {
  const baseline = join(mkdtempSync(join(tmpdir(), 'ids-baseline-')), 'baseline.json');
  beforeAll(() => {
    expect(run('--save', baseline, '--template-dir', assembly(BEFORE)).status).toBe(0);
  });

  test('passes and lists stateless changes when only an alarm id changed', () => {
    const after = assembly({
      DatabaseInstance1: BEFORE.DatabaseInstance1,
      Alarm2: { Type: 'AWS::CloudWatch::Alarm' },
      // A new code hash on the version is not a change.
      FnCurrentVersionAB12CD34ffffffffffffffffffffffffffffffff: { Type: 'AWS::Lambda::Version' },
    });
    const r = run('--against', baseline, '--template-dir', after);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/added: 1\n {2}Stage\/Stack Alarm2/);
    expect(r.out).toMatch(/removed: 1\n {2}Stage\/Stack Alarm1/);
    expect(r.out).not.toMatch(/CurrentVersion/);
  });

  test('fails when a resource that holds data was renamed', () => {
    const after = assembly({
      ...BEFORE,
      DatabaseInstance1: undefined!,
      DatabaseInstance2: BEFORE.DatabaseInstance1,
    });
    const r = run('--against', baseline, '--template-dir', after);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/\[stateful\] Stage\/Stack DatabaseInstance1 \(AWS::RDS::DBInstance, Snapshot\)/);
  });

  test('fails when a resource that holds data loses its deletion policy', () => {
    const after = assembly({ ...BEFORE, DatabaseInstance1: { Type: 'AWS::RDS::DBInstance' } });
    const r = run('--against', baseline, '--template-dir', after);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/would be replaced or lose their deletion policy/);
  });

  test('refuses unknown arguments before synthesizing', () => {
    const r = run('--bogus', 'x');
    expect(r.status).toBe(2);
    expect(r.out).toMatch(/unknown argument: --bogus/);
  });
});
