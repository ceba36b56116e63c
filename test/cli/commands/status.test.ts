import { run } from '../../../lib/cli/commands/status';
import { ExitCode } from '../../../lib/cli/exit-codes';
import { deployment, FakeWorld, type FakeWorldOptions } from '../../helpers/cli';

let world: FakeWorld;
function setup(options: FakeWorldOptions = {}): FakeWorld {
  world = new FakeWorld(options);
  return world;
}
afterEach(() => world?.dispose());

const history = () => [
  deployment('d-C', '41', '42', 'Succeeded', 30),
  deployment('d-B', '40', '41', 'Failed', 120, {
    errorInformation: { code: 'ALARM_ACTIVE', message: 'Alarm 5xx fired' },
  }),
  deployment('d-A', '40', '41', 'Succeeded', 600),
];

describe('shipshape status', () => {
  test('shows live and previous version, schema, and that a rollback is possible', async () => {
    setup({ deployments: history() });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.stdout).toContain(
      'Live:      version 42 100%   schema 0003_accounts_and_notes, contract migrations none',
    );
    expect(world.stdout).toContain('Previous:  version 41 (the version d-C replaced)');
    expect(world.stdout).toContain(
      'Rollback:  possible now — Shift Staging-Stateless-ApiFunction:live from version 42 to version 41',
    );
  });

  test('lists recent deployments newest first with state, versions and duration', async () => {
    setup({ deployments: [history()[2], history()[0], history()[1]] });
    await run(['--env', 'staging'], world.deps());
    const rows = world.stdout.split('\n').filter((l) => /^d-[ABC] /.test(l));
    expect(rows.map((r) => r.slice(0, 3))).toEqual(['d-C', 'd-B', 'd-A']);
    expect(rows[0]).toMatch(/^d-C\s+Succeeded\s+41 → 42\s+2026-11-22T02:30:00Z\s+4m 12s/);
    expect(rows[1]).toContain('Alarm 5xx fired');
  });

  test('--limit caps the list', async () => {
    setup({ deployments: history() });
    await run(['--env', 'staging', '--limit', '1', '--json'], world.deps());
    const result = JSON.parse(world.stdout) as { deployments: Array<{ id: string }> };
    expect(result.deployments.map((d) => d.id)).toEqual(['d-C']);
  });

  test('shows the traffic split of a canary and that a rollback would stop it', async () => {
    setup({
      alias: { version: '41', weights: { '42': 0.1 } },
      deployments: [deployment('d-CANARY', '41', '42', 'InProgress', 2), ...history().slice(1)],
    });
    await run(['--env', 'staging'], world.deps());
    expect(world.stdout).toContain('Live:      version 41 90%, version 42 10%');
    expect(world.stdout).toContain('Rollback:  possible now — Stop deployment d-CANARY');
    expect(world.stdout).toMatch(/d-CANARY\s+InProgress\s+41 → 42\s+\S+\s+running/);
  });

  test('says why a rollback is not possible (schema) with the refusal exit code in --json', async () => {
    setup({
      versions: { '41': '0004_add_note_slug', '42': '0005_drop_note_legacy_title' },
      contracts: { '41': 'none', '42': '0005:0004' },
      deployments: history(),
    });
    await expect(run(['--env', 'staging', '--json'], world.deps())).resolves.toBe(ExitCode.OK);
    const result = JSON.parse(world.stdout) as {
      rollback: { possible: boolean; reason: string; exitCode: number };
    };
    expect(result.rollback.possible).toBe(false);
    expect(result.rollback.exitCode).toBe(ExitCode.REFUSED);
    expect(result.rollback.reason).toContain('includes the contract migration 0005 (completes 0004)');
  });

  test('shows an undeclared live version and that a rollback would be refused until overridden', async () => {
    setup({ contracts: { '42': null }, deployments: history() });
    await expect(run(['--env', 'staging', '--json'], world.deps())).resolves.toBe(ExitCode.OK);
    const result = JSON.parse(world.stdout) as {
      live: { contracts?: string };
      rollback: { possible: boolean; reason: string; exitCode: number };
    };
    expect(result.live.contracts).toBeUndefined();
    expect(result.rollback).toMatchObject({ possible: false, exitCode: ExitCode.REFUSED });
    expect(result.rollback.reason).toContain('--skip-schema-check');
  });

  test('says a rollback is already running', async () => {
    setup({
      deployments: [deployment('d-RB', '42', '41', 'InProgress', 1, { creator: 'codeDeployRollback' })],
    });
    await run(['--env', 'staging'], world.deps());
    expect(world.stdout).toContain(
      'Rollback:  not possible — A rollback is already in progress: deployment d-RB',
    );
  });

  test('is read-only', async () => {
    setup({ deployments: history() });
    await run(['--env', 'production'], world.deps());
    expect(world.mutations()).toEqual([]);
    expect(world.questions).toEqual([]);
  });

  test.each([
    [['--env', 'staging', '--limit', '0']],
    [['--env', 'staging', '--limit', 'all']],
    [['--env', 'qa']],
  ])('fails with a usage error for %j before calling AWS', async (argv) => {
    setup();
    await expect(run(argv, world.deps())).resolves.toBe(ExitCode.USAGE);
    expect(world.calls).toEqual([]);
  });

  test('a missing stack exits MISSING_STACK', async () => {
    setup({ outputs: null });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.MISSING_STACK);
  });
});
