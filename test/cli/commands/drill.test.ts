import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateDeploymentCommand } from '@aws-sdk/client-codedeploy';
import 'aws-sdk-client-mock-jest';
import { DRILL_NAMESPACE, run } from '../../../lib/cli/commands/drill';
import { ExitCode } from '../../../lib/cli/exit-codes';
import { deployment, FakeWorld, type FakeWorldOptions } from '../../helpers/cli';

let world: FakeWorld;
function setup(options: FakeWorldOptions = {}): FakeWorld {
  world = new FakeWorld(options);
  return world;
}
afterEach(() => world?.dispose());

function metrics(): Record<string, number> {
  const input = world.cloudWatch.commandCalls(PutMetricDataCommand)[0].args[0].input;
  return Object.fromEntries(input.MetricData!.map((d) => [d.MetricName!, d.Value!]));
}

describe('shipshape drill: a passing drill', () => {
  let code: number;
  beforeEach(async () => {
    setup();
    code = await run(['--env', 'staging'], world.deps());
  });

  test('exits 0 and leaves the recorded version live', () => {
    expect(code).toBe(ExitCode.OK);
    expect(world.alias).toEqual({ version: '42', weights: {} });
  });

  test('rolls back to the previous version, then forward to the recorded one, checking health after each', () => {
    const shifts = world.codeDeploy.commandCalls(CreateDeploymentCommand).map((c) => {
      const content = c.args[0].input.revision!.appSpecContent!.content!;
      return /"CurrentVersion":"(\d+)","TargetVersion":"(\d+)"/.exec(content)!.slice(1).join('→');
    });
    expect(shifts).toEqual(['42→41', '41→42']);
    const sequence = world.calls.filter((c) =>
      ['CodeDeploy.CreateDeployment', 'CloudWatch.PutMetricData'].includes(c),
    );
    expect(sequence).toEqual([
      'CodeDeploy.CreateDeployment',
      'CodeDeploy.CreateDeployment',
      'CloudWatch.PutMetricData',
    ]);
    expect(world.healthUrls).toHaveLength(2);
  });

  test('publishes DrillSucceeded=1 and both durations under Shipshape/Deployments, Environment=staging', () => {
    const input = world.cloudWatch.commandCalls(PutMetricDataCommand)[0].args[0].input;
    expect(input.Namespace).toBe(DRILL_NAMESPACE);
    expect(DRILL_NAMESPACE).toBe('Shipshape/Deployments');
    for (const datum of input.MetricData!)
      expect(datum.Dimensions).toEqual([{ Name: 'Environment', Value: 'staging' }]);
    // Fake clock: each deployment ends on its 3rd poll (2 sleeps of 5 s) and health takes 0.2 s.
    expect(metrics()).toEqual({ DrillSucceeded: 1, TimeToRollbackSeconds: 10.2, TimeToRecoverSeconds: 10.2 });
    expect(input.MetricData!.find((d) => d.MetricName === 'TimeToRollbackSeconds')!.Unit).toBe('Seconds');
  });

  test('both deployments override the group alarm configuration (polling off), and the plan says why', () => {
    const inputs = world.codeDeploy.commandCalls(CreateDeploymentCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.overrideAlarmConfiguration)).toEqual([{ enabled: false }, { enabled: false }]);
    expect(inputs.map((i) => i.deploymentConfigName)).toEqual([
      'CodeDeployDefault.LambdaAllAtOnce',
      'CodeDeployDefault.LambdaAllAtOnce',
    ]);
    expect(world.stdout).toContain(
      "Alarms: the deployment group's alarms are not polled for this deployment",
    );
    expect(world.stdout).toContain('the gate applies no migration and self-tests version 41');
  });

  test('prints a short report', () => {
    expect(world.stdout).toContain('Drill passed in staging:');
    expect(world.stdout).toContain('rolled back   42 → 41 in 10.2s');
    expect(world.stdout).toContain('recovered     41 → 42 in 10.2s');
  });
});

describe('shipshape drill: refusals and failures', () => {
  test('refuses production without --allow-production before any AWS call', async () => {
    setup();
    await expect(run(['--env', 'production'], world.deps())).resolves.toBe(ExitCode.REFUSED);
    expect(world.stderr).toContain('Refusing to drill production');
    expect(world.calls).toEqual([]);
  });

  test('--allow-production still needs confirmation (none possible without a terminal)', async () => {
    setup({ interactive: false });
    await expect(run(['--env', 'production', '--allow-production'], world.deps())).resolves.toBe(
      ExitCode.NOT_CONFIRMED,
    );
    expect(world.mutations()).toEqual([]);
  });

  test('refuses while a deployment is in progress', async () => {
    setup({
      alias: { version: '41', weights: { '42': 0.5 } },
      deployments: [deployment('d-CANARY', '41', '42', 'InProgress', 1)],
    });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.REFUSED);
    expect(world.stderr).toContain('Deployment d-CANARY is in progress');
    expect(world.mutations()).toEqual([]);
  });

  test('exits NO_PREVIOUS_VERSION when there is nothing to roll back to', async () => {
    setup({ alias: { version: '1' }, versions: { '1': '0003_accounts_and_notes' }, deployments: [] });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.NO_PREVIOUS_VERSION);
    expect(world.mutations()).toEqual([]);
  });

  test('an unhealthy roll-forward publishes DrillSucceeded=0 with the rollback time and says how to restore', async () => {
    setup({
      health: [
        { healthy: true, detail: 'HTTP 200' },
        { healthy: false, detail: 'HTTP 502' },
        { healthy: false, detail: 'HTTP 502' },
        { healthy: false, detail: 'HTTP 502' },
      ],
    });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.FAILED);
    expect(metrics()).toEqual({ DrillSucceeded: 0, TimeToRollbackSeconds: 10.2 });
    expect(world.stderr).toContain(
      'Drill failed while rolling forward: version 42 is unhealthy after the roll-forward (HTTP 502)',
    );
    expect(world.stderr).toContain('shipshape rollback --env staging --to 42 --yes');
  });

  test('a failed rollback deployment publishes DrillSucceeded=0 and no durations', async () => {
    setup({ outcome: 'Failed' });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.FAILED);
    expect(metrics()).toEqual({ DrillSucceeded: 0 });
    expect(world.codeDeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
  });

  test('Ctrl-C mid-wait exits INTERRUPTED_AFTER_CHANGE, publishes nothing, names the running deployment and the recorded version', async () => {
    setup({ abortOnSleep: 1 });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.INTERRUPTED_AFTER_CHANGE);
    expect(world.cloudWatch).not.toHaveReceivedCommand(PutMetricDataCommand);
    expect(world.stderr).toContain('  - deployment d-NEW1 in CodeDeploy');
    expect(world.stderr).toContain('shipshape rollback --env staging --to 42 --yes');
    expect(world.stderr).not.toContain('nothing was changed');
  });

  test('Ctrl-C during the health check after the shift creates no restore deployment and publishes nothing', async () => {
    // Sleeps 1-2 are the deployment polls; sleep 3 is the pause between health checks.
    setup({ abortOnSleep: 3, health: [{ healthy: false, detail: 'HTTP 500' }] });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.INTERRUPTED_AFTER_CHANGE);
    expect(world.mutations()).toEqual(['CodeDeploy.CreateDeployment']);
    expect(world.stderr).toContain(
      '  - created deployment d-NEW1: live version 42 → 41, all at once, alarms not polled (succeeded)',
    );
    expect(world.stderr).toContain('Still running: nothing.');
    expect(world.stderr).toContain('shipshape rollback --env staging --to 42 --yes');
  });

  test('--help documents the metrics', async () => {
    setup();
    await expect(run(['-h'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.stdout).toContain('TimeToRecoverSeconds');
    expect(world.stdout).toContain('--allow-production');
  });
});

describe('shipshape drill: an unhealthy previous version', () => {
  test('restores the recorded version at once, then reports the failed drill', async () => {
    setup({
      health: [
        { healthy: false, detail: 'HTTP 500' },
        { healthy: false, detail: 'HTTP 500' },
        { healthy: false, detail: 'HTTP 500' },
        { healthy: true, detail: 'HTTP 200' },
      ],
    });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.FAILED);
    expect(world.alias.version).toBe('42');
    expect(world.codeDeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 2);
    expect(metrics()).toEqual({ DrillSucceeded: 0 });
    expect(world.stderr).toContain(
      'version 41 is unhealthy after the rollback (HTTP 500); restoring version 42',
    );
  });
});
