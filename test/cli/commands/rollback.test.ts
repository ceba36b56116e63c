import {
  CreateDeploymentCommand,
  GetDeploymentCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import 'aws-sdk-client-mock-jest';
import { run } from '../../../lib/cli/commands/rollback';
import { ExitCode } from '../../../lib/cli/exit-codes';
import { deployment, FakeWorld, type FakeWorldOptions, HOOKS, OUTPUTS } from '../../helpers/cli';

let world: FakeWorld;
function setup(options: FakeWorldOptions = {}): FakeWorld {
  world = new FakeWorld(options);
  return world;
}
afterEach(() => world?.dispose());

describe('shipshape rollback: the normal case', () => {
  let code: number;
  beforeEach(async () => {
    setup();
    code = await run(['--env', 'staging'], world.deps());
  });

  test('exits 0 once the previous version serves all traffic and is healthy', () => {
    expect(code).toBe(ExitCode.OK);
    expect(world.alias).toEqual({ version: '41', weights: {} });
  });

  test('creates one all-at-once CodeDeploy deployment from the live to the previous version', () => {
    expect(world.codeDeploy).toHaveReceivedCommandTimes(CreateDeploymentCommand, 1);
    expect(world.codeDeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      applicationName: 'Staging-Stateless-ApiDeployApp',
      deploymentGroupName: 'Staging-Stateless-ApiDeployGroup',
      deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
    });
  });

  test('the AppSpec moves alias live from 42 to 41 and keeps the traffic hooks of the last deployment', () => {
    const input = world.codeDeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input;
    const content = input.revision!.appSpecContent!.content!;
    expect(content.startsWith('{"version":0.0,')).toBe(true);
    const spec = JSON.parse(content) as { Resources: unknown[]; Hooks: unknown[] };
    expect(spec.Resources).toEqual([
      {
        live: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Name: 'Staging-Stateless-ApiFunction',
            Alias: 'live',
            CurrentVersion: '42',
            TargetVersion: '41',
          },
        },
      },
    ]);
    expect(spec.Hooks).toEqual([
      { BeforeAllowTraffic: HOOKS.BeforeAllowTraffic },
      { AfterAllowTraffic: HOOKS.AfterAllowTraffic },
    ]);
  });

  test('reads the stack outputs of Staging-Stateless before anything else', () => {
    expect(world.calls[0]).toBe('CloudFormation.DescribeStacks');
    expect(world.cloudFormation.call(0).args[0].input).toEqual({ StackName: 'Staging-Stateless' });
  });

  test('checks <ApiUrl>/health after the shift', () => {
    expect(world.healthUrls).toEqual(['https://d111111abcdef8.cloudfront.net/health']);
  });

  test('prints each step, progress lines and the elapsed time', () => {
    expect(world.stdout).toContain('Plan:');
    expect(world.stdout).toContain('Creating deployment: version 42 → 41');
    expect(world.stdout).toMatch(/ {2}d-NEW1: InProgress — 5s\n/);
    // Fake clock: 3 polls 5 s apart.
    expect(world.stdout).toContain('Version 41 carries 100% of traffic after 10s');
    expect(world.stdout).toContain('Rolled back staging to version 41');
  });

  test('does not ask for confirmation in staging', () => {
    expect(world.questions).toEqual([]);
  });
});

describe('shipshape rollback: choosing the target', () => {
  test('falls back to the newest published version below the live one when history has no source', async () => {
    setup({ deployments: [] });
    await expect(run(['--env', 'staging', '--yes'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.calls).toContain('Lambda.ListVersionsByFunction');
    expect(world.alias.version).toBe('41');
  });

  test('after a rollback, the previous version is the one before the restored version, not the bad one', async () => {
    setup({
      deployments: [
        deployment('d-ROLLBACK', '43', '42', 'Succeeded', 10, {
          description: 'shipshape rollback (staging): version 43 -> 42',
        }),
        deployment('d-BAD', '42', '43', 'Succeeded', 40),
        deployment('d-GOOD', '41', '42', 'Succeeded', 600),
      ],
      versions: {
        '41': '0003_accounts_and_notes',
        '42': '0003_accounts_and_notes',
        '43': '0003_accounts_and_notes',
      },
    });
    await expect(run(['--env', 'staging', '--dry-run'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.stdout).toContain('from version 42 to version 41 (the version d-GOOD replaced)');
  });

  test('--to rolls back to the given version', async () => {
    setup();
    await expect(run(['--env', 'staging', '--to', '40'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.alias.version).toBe('40');
  });

  test('--to naming a version that does not exist is a usage error and changes nothing', async () => {
    setup();
    await expect(run(['--env', 'staging', '--to', '99'], world.deps())).resolves.toBe(ExitCode.USAGE);
    expect(world.stderr).toContain('Version 99 of Staging-Stateless-ApiFunction does not exist');
    expect(world.mutations()).toEqual([]);
  });

  test('--to the live version does nothing and says so', async () => {
    setup();
    await expect(run(['--env', 'staging', '--to', '42'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.stdout).toContain('already carries 100% of traffic; nothing to do');
    expect(world.mutations()).toEqual([]);
  });

  test('exits NO_PREVIOUS_VERSION when the live version is the only one', async () => {
    setup({ alias: { version: '1' }, versions: { '1': '0003_accounts_and_notes' }, deployments: [] });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.NO_PREVIOUS_VERSION);
    expect(world.stderr).toContain('No previous version');
    expect(world.mutations()).toEqual([]);
  });
});

describe('shipshape rollback: schema safety from the deployed declarations', () => {
  const versions = { '41': '0004_add_note_slug', '42': '0005_drop_note_legacy_title' };
  const contracts = { '41': 'none', '42': '0005:0004' };

  test('refuses (exit 3) a target built before a contract migration the live build includes', async () => {
    setup({ versions, contracts });
    await expect(run(['--env', 'staging', '--yes'], world.deps())).resolves.toBe(ExitCode.REFUSED);
    expect(world.stderr).toContain(
      'Refusing to roll back: version 41 was built for schema 0004_add_note_slug, but the live version 42 ' +
        '(schema 0005_drop_note_legacy_title) includes the contract migration 0005 (completes 0004)',
    );
    expect(world.stderr).toContain('--skip-schema-check --reason');
    expect(world.mutations()).toEqual([]);
  });

  test('reads both declarations with GetFunctionConfiguration qualified by version', async () => {
    setup({ versions, contracts });
    await run(['--env', 'staging'], world.deps());
    expect(world.calls).toEqual(
      expect.arrayContaining(['Lambda.GetFunctionConfiguration:42', 'Lambda.GetFunctionConfiguration:41']),
    );
  });

  test('allows the rollback when the target was built with the contract migration', async () => {
    setup({
      versions: { '41': '0005_drop_note_legacy_title', '42': '0006_more' },
      contracts: { '41': '0005:0004', '42': '0005:0004' },
    });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.stdout).toContain(
      'Schema: safe: version 41 (schema 0005_drop_note_legacy_title) was built with',
    );
  });

  test('fails closed (exit 3) when the live version declares no contracts, naming the override', async () => {
    setup({ contracts: { '42': null } });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.REFUSED);
    expect(world.stderr).toContain(
      'schema safety cannot be decided: the live version 42 does not declare SHIPSHAPE_SCHEMA_CONTRACTS',
    );
    expect(world.stderr).toContain('re-run with --skip-schema-check --reason "<why it is safe>"');
    expect(world.mutations()).toEqual([]);
  });

  test('fails closed (exit 3) when GetFunctionConfiguration fails', async () => {
    setup({
      configErrors: {
        '42': Object.assign(new Error('not authorized to perform lambda:GetFunctionConfiguration'), {
          name: 'AccessDeniedException',
        }),
      },
    });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.REFUSED);
    expect(world.stderr).toContain('could not be read (AccessDeniedException: not authorized');
    expect(world.mutations()).toEqual([]);
  });

  test('never reads a local migrations folder: a checkout cannot make a rollback pass', async () => {
    setup({ contracts: { '42': null } });
    const code = await run(['--env', 'staging'], { ...world.deps(), migrationsDir: '/definitely/missing' });
    expect(code).toBe(ExitCode.REFUSED);
  });

  test('--skip-schema-check --reason rolls back, prints the reason and records it in the description', async () => {
    setup({ contracts: { '42': null } });
    const reason = 'checked by hand: 0005 not applied';
    await expect(
      run(['--env', 'staging', '--skip-schema-check', '--reason', reason], world.deps()),
    ).resolves.toBe(ExitCode.OK);
    expect(world.stdout).toContain(`Schema: CHECK SKIPPED (--skip-schema-check, reason: ${reason})`);
    expect(world.stderr).toContain(`shipshape: override (schema check skipped): ${reason}`);
    const input = world.codeDeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input;
    expect(input.description).toBe(
      `shipshape rollback (staging): version 42 -> 41; schema check skipped: ${reason}`,
    );
  });

  test('a long reason is printed in full but cut to 160 characters in the deployment description', async () => {
    setup({ contracts: { '42': null } });
    const reason = `checked by hand ${'x'.repeat(180)}`;
    await expect(
      run(['--env', 'staging', '--skip-schema-check', '--reason', reason], world.deps()),
    ).resolves.toBe(ExitCode.OK);
    expect(world.stderr).toContain(reason);
    const input = world.codeDeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input;
    expect(input.description).toHaveLength(160);
    expect(input.description!.endsWith('…')).toBe(true);
  });

  test.each([
    [['--skip-schema-check'], '--skip-schema-check needs --reason'],
    [['--skip-schema-check', '--reason', '  '], '--skip-schema-check needs --reason'],
    [['--without-hooks'], '--without-hooks needs --reason'],
    [['--reason', 'because'], '--reason only goes with --skip-schema-check or --without-hooks'],
    [['--skip-schema-check', '--reason', 'x'.repeat(201)], 'at most 200 characters'],
  ])('%j is a usage error before any AWS call', async (extra, message) => {
    setup();
    await expect(run(['--env', 'staging', ...extra], world.deps())).resolves.toBe(ExitCode.USAGE);
    expect(world.stderr).toContain(message);
    expect(world.calls).toEqual([]);
  });
});

describe('shipshape rollback: alarms and hooks', () => {
  test('the deployment overrides the group alarm configuration with polling off, and the plan says why', async () => {
    setup();
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.OK);
    const input = world.codeDeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input;
    expect(input).toEqual({
      applicationName: 'Staging-Stateless-ApiDeployApp',
      deploymentGroupName: 'Staging-Stateless-ApiDeployGroup',
      deploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
      description: 'shipshape rollback (staging): version 42 -> 41',
      overrideAlarmConfiguration: { enabled: false },
      revision: { revisionType: 'AppSpecContent', appSpecContent: { content: expect.any(String) as string } },
    });
    expect(world.stdout).toContain(
      "Alarms: the deployment group's alarms are not polled for this deployment (overrideAlarmConfiguration enabled=false)",
    );
  });

  test('the plan says the gate applies no migration and self-tests the older target', async () => {
    setup();
    await run(['--env', 'staging', '--dry-run'], world.deps());
    expect(world.stdout).toContain(
      'BeforeAllowTraffic Staging-Stateless-MigrationGate: the target is older than the live version, so the gate ' +
        'applies no migration and self-tests version 41',
    );
    expect(world.stdout).not.toContain('changes nothing');
  });

  test('takes the hooks from the stack outputs, so a rollback with no deployment history still runs them', async () => {
    setup({ deployments: [] });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.OK);
    const content =
      world.codeDeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input.revision!.appSpecContent!
        .content!;
    expect((JSON.parse(content) as { Hooks: unknown[] }).Hooks).toEqual([
      { BeforeAllowTraffic: HOOKS.BeforeAllowTraffic },
      { AfterAllowTraffic: HOOKS.AfterAllowTraffic },
    ]);
  });

  test('ignores hooks found in history when the outputs name others', async () => {
    setup({
      outputs: { ...OUTPUTS, MigrationGateFunctionName: 'Gate-v2', SmokeTestFunctionName: 'Smoke-v2' },
    });
    await run(['--env', 'staging'], world.deps());
    const content =
      world.codeDeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input.revision!.appSpecContent!
        .content!;
    expect(content).toContain('"BeforeAllowTraffic":"Gate-v2"');
    expect(content).not.toContain(HOOKS.BeforeAllowTraffic);
  });

  test('refuses (exit 4) when the stack does not export the hook names, naming the override', async () => {
    const { MigrationGateFunctionName: _gate, SmokeTestFunctionName: _smoke, ...older } = OUTPUTS;
    setup({ outputs: older });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.MISSING_STACK);
    expect(world.stderr).toContain(
      'Refusing to roll back without the traffic hooks: Staging-Stateless does not export ' +
        'MigrationGateFunctionName and SmokeTestFunctionName',
    );
    expect(world.stderr).toContain('--without-hooks --reason "<why>"');
    expect(world.mutations()).toEqual([]);
  });

  test('--without-hooks --reason rolls back with no hooks and says so', async () => {
    const { SmokeTestFunctionName: _smoke, ...partial } = OUTPUTS;
    setup({ outputs: partial });
    await expect(
      run(['--env', 'staging', '--without-hooks', '--reason', 'stack predates the outputs'], world.deps()),
    ).resolves.toBe(ExitCode.OK);
    expect(world.stdout).toContain('NO smoke test (--without-hooks, reason: stack predates the outputs');
    const content =
      world.codeDeploy.commandCalls(CreateDeploymentCommand)[0].args[0].input.revision!.appSpecContent!
        .content!;
    expect((JSON.parse(content) as { Hooks: unknown[] }).Hooks).toEqual([
      { BeforeAllowTraffic: HOOKS.BeforeAllowTraffic },
    ]);
  });
});

describe('shipshape rollback: a deployment in progress', () => {
  const canary = () =>
    setup({
      alias: { version: '41', weights: { '42': 0.5 } },
      deployments: [
        deployment('d-CANARY', '41', '42', 'InProgress', 1),
        deployment('d-OLD', '40', '41', 'Succeeded', 600),
      ],
    });

  test('stops it with automatic rollback instead of creating a deployment', async () => {
    canary();
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, {
      deploymentId: 'd-CANARY',
      autoRollbackEnabled: true,
    });
    expect(world.codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });

  test('waits until the old version carries 100% (no additional weights)', async () => {
    canary();
    await run(['--env', 'staging'], world.deps());
    expect(world.alias).toEqual({ version: '41', weights: {} });
    expect(world.stdout).toContain('live: version 41 50%, version 42 50%');
    expect(world.stdout).toContain('Version 41 carries 100% of traffic');
  });

  test('refuses --to while a deployment is in progress', async () => {
    canary();
    await expect(run(['--env', 'staging', '--to', '40'], world.deps())).resolves.toBe(ExitCode.USAGE);
    expect(world.mutations()).toEqual([]);
  });

  test('exits ALREADY_ROLLING_BACK when the running deployment is itself a rollback', async () => {
    setup({
      deployments: [
        deployment('d-AUTOROLLBACK', '42', '41', 'InProgress', 1, {
          creator: 'codeDeployRollback',
          rollbackInfo: { rollbackTriggeringDeploymentId: 'd-BAD' },
        }),
      ],
    });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.ALREADY_ROLLING_BACK);
    expect(world.stderr).toContain('d-AUTOROLLBACK');
    expect(world.mutations()).toEqual([]);
  });
});

describe('shipshape rollback: production confirmation', () => {
  test('without a terminal and without --yes it refuses at once and changes nothing', async () => {
    setup({ interactive: false });
    await expect(run(['--env', 'production'], world.deps())).resolves.toBe(ExitCode.NOT_CONFIRMED);
    expect(world.stderr).toContain('no terminal to ask on. Re-run with --yes');
    expect(world.questions).toEqual([]);
    expect(world.mutations()).toEqual([]);
  });

  test('asks to type the environment name and proceeds when it is typed', async () => {
    setup({ interactive: true, answer: 'production' });
    await expect(run(['--env', 'production'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.questions).toEqual(["Type 'production' to roll back in production: "]);
    expect(world.cloudFormation.call(0).args[0].input).toEqual({ StackName: 'Production-Stateless' });
  });

  test('any other answer stops before a change', async () => {
    setup({ interactive: true, answer: 'y' });
    await expect(run(['--env', 'production'], world.deps())).resolves.toBe(ExitCode.NOT_CONFIRMED);
    expect(world.mutations()).toEqual([]);
  });

  test('--yes skips the question', async () => {
    setup({ interactive: true, answer: 'no' });
    await expect(run(['--env', 'production', '--yes'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.questions).toEqual([]);
  });
});

describe('shipshape rollback --dry-run', () => {
  test('prints the plan and sends no mutating call', async () => {
    setup();
    await expect(run(['--env', 'production', '--dry-run'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.stdout).toContain('Shift Staging-Stateless-ApiFunction:live from version 42 to version 41');
    expect(world.stdout).toContain('Dry run: nothing was changed.');
    expect(world.mutations()).toEqual([]);
    expect(world.healthUrls).toEqual([]);
  });

  test('--json prints the plan as one JSON document', async () => {
    setup();
    await run(['--env', 'staging', '--dry-run', '--json'], world.deps());
    const result = JSON.parse(world.stdout) as { dryRun: boolean; plan: { kind: string; toVersion: string } };
    expect(result).toMatchObject({
      dryRun: true,
      plan: { kind: 'deploy', fromVersion: '42', toVersion: '41' },
    });
  });
});

describe('shipshape rollback: argument validation happens before any AWS call', () => {
  test.each([
    [['--env', 'prod'], "Unknown environment 'prod'"],
    [[], '--env is required'],
    [['--env', 'staging', '--to', '$LATEST'], "--to '$LATEST' must be a published version number"],
    [['--env', 'staging', '--to', '4a'], "--to '4a' must be a published version number"],
    [['--env', 'staging', '--to', '0'], "--to '0' must be a published version number"],
    [['--env', 'staging', '--region', 'Europe'], "--region 'Europe' is not an AWS region code"],
    [['--env', 'staging', '--profile', 'a b'], "--profile 'a b' is not a valid profile name"],
    [['--env', 'staging', '--timeout-minutes', '0'], "--timeout-minutes '0' must be a whole number"],
    [['--env', 'staging', '--force'], "Unknown option '--force'"],
    [['--env', 'staging', 'now'], "Unexpected argument 'now'"],
  ])('%j is a usage error', async (argv, message) => {
    setup();
    await expect(run(argv, world.deps())).resolves.toBe(ExitCode.USAGE);
    expect(world.stderr).toContain(message);
    expect(world.calls).toEqual([]);
  });

  test('--help prints usage with examples and exit codes, and calls nothing', async () => {
    setup();
    await expect(run(['--help'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(world.stdout).toContain('Examples:');
    expect(world.stdout).toContain('shipshape rollback --env production');
    expect(world.stdout).toMatch(/Exit codes:[\s\S]*130 {2}interrupted/);
    expect(world.calls).toEqual([]);
  });

  test('--region overrides the region from config', async () => {
    setup();
    await run(['--env', 'staging', '--region', 'us-west-2', '--dry-run'], world.deps());
    expect(world.stdout).toContain('Reading Staging-Stateless in us-west-2');
    expect(await world.cloudFormation.call(0).thisValue.config.region()).toBe('us-west-2');
  });
});

describe('shipshape rollback: faults', () => {
  test('a missing stack exits MISSING_STACK naming the stack and region', async () => {
    setup({ outputs: null });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.MISSING_STACK);
    expect(world.stderr).toContain('Stack Staging-Stateless was not found in eu-west-1');
  });

  test('missing outputs exit MISSING_STACK listing them', async () => {
    setup({ outputs: { FunctionName: 'f', ApiUrl: 'https://x' } });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.MISSING_STACK);
    expect(world.stderr).toContain('lacks the outputs AliasName, CodeDeployApplication, DeploymentGroupName');
    expect(world.mutations()).toEqual([]);
  });

  test('expired credentials exit EXPIRED_CREDENTIALS with a hint', async () => {
    setup();
    world.cloudFormation.reset();
    world.cloudFormation.rejects(
      Object.assign(new Error('The security token included in the request is expired'), {
        name: 'ExpiredTokenException',
      }),
    );
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.EXPIRED_CREDENTIALS);
    expect(world.stderr).toContain('AWS credentials are missing, expired or invalid (ExpiredTokenException');
    expect(world.stderr).toContain('aws sso login');
  });

  test('a failed deployment exits FAILED with CodeDeploy’s reason', async () => {
    setup({ outcome: 'Failed' });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.FAILED);
    expect(world.stderr).toContain('Deployment d-NEW1 failed: AfterAllowTraffic hook failed');
    expect(world.healthUrls).toEqual([]);
  });

  test('a failing health check after the shift exits UNHEALTHY after three attempts', async () => {
    setup({ health: [{ healthy: false, detail: 'HTTP 503' }] });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.UNHEALTHY);
    expect(world.healthUrls).toHaveLength(3);
    expect(world.stderr).toContain('rolled back to version 41, but /health is failing (HTTP 503)');
  });

  test('a deployment that outlasts --timeout-minutes exits FAILED naming it', async () => {
    setup({ pollsUntilDone: 1_000 });
    await expect(run(['--env', 'staging', '--timeout-minutes', '1'], world.deps())).resolves.toBe(
      ExitCode.FAILED,
    );
    expect(world.stderr).toContain('Gave up waiting after 1m 0s: deployment d-NEW1 has not finished');
  });

  test('Ctrl-C while waiting exits INTERRUPTED_AFTER_CHANGE, says what changed, what runs and how to check or stop it', async () => {
    setup({ abortOnSleep: 2 });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.INTERRUPTED_AFTER_CHANGE);
    expect(world.stderr).toContain(
      'shipshape: Interrupted (Ctrl-C): stopped waiting for deployment d-NEW1. The shift to version 41 was started.\n' +
        'Changed:\n' +
        '  - created deployment d-NEW1: live version 42 → 41, all at once, alarms not polled\n' +
        'Still running (it carries on without this command):\n' +
        '  - deployment d-NEW1 in CodeDeploy; all at once, so the alias is never left half-shifted\n' +
        '      Check:  aws deploy get-deployment --deployment-id d-NEW1   (or: shipshape status --env staging)\n' +
        '      Stop:   aws deploy stop-deployment --deployment-id d-NEW1 --auto-rollback-enabled\n',
    );
    expect(world.stderr).not.toContain('nothing was changed');
    // Stopped waiting: no further polling, no second mutation.
    expect(world.mutations()).toEqual(['CodeDeploy.CreateDeployment']);
    expect(world.healthUrls).toEqual([]);
  });

  test('Ctrl-C during the health check after the shift says the deployment finished and nothing runs', async () => {
    // Sleeps 1-2 are the deployment polls; sleep 3 is the pause between health checks.
    setup({ abortOnSleep: 3, health: [{ healthy: false, detail: 'HTTP 503' }] });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.INTERRUPTED_AFTER_CHANGE);
    expect(world.alias).toEqual({ version: '41', weights: {} });
    expect(world.stderr).toContain(
      'Changed:\n  - created deployment d-NEW1: live version 42 → 41, all at once, alarms not polled (succeeded)\n' +
        'Still running: nothing.',
    );
    expect(world.stderr).not.toContain('nothing was changed');
  });

  test('Ctrl-C while reading state, before any change, exits INTERRUPTED and says nothing changed', async () => {
    setup();
    const aborted = new AbortController();
    aborted.abort();
    await expect(run(['--env', 'staging'], { ...world.deps(), signal: aborted.signal })).resolves.toBe(
      ExitCode.INTERRUPTED,
    );
    expect(world.stderr).toContain('nothing was changed');
    expect(world.mutations()).toEqual([]);
  });

  test('a canary stopped and then interrupted says CodeDeploy is still restoring the old version', async () => {
    setup({
      alias: { version: '41', weights: { '42': 0.1 } },
      deployments: [deployment('d-CANARY', '41', '42', 'InProgress', 1)],
      abortOnSleep: 1,
    });
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.INTERRUPTED_AFTER_CHANGE);
    expect(world.stderr).toContain('  - stopped deployment d-CANARY with automatic rollback\n');
    expect(world.stderr).toContain(
      "  - CodeDeploy's automatic rollback of d-CANARY, putting version 41 back on 100%",
    );
  });

  test('Ctrl-C at the confirmation prompt changes nothing', async () => {
    setup({ interactive: true });
    const deps = world.deps();
    const aborted = new AbortController();
    aborted.abort();
    const code = await run(['--env', 'production'], {
      ...deps,
      signal: aborted.signal,
      ask: async () => {
        throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      },
    });
    expect(code).toBe(ExitCode.INTERRUPTED);
    expect(world.mutations()).toEqual([]);
  });
});

describe('shipshape rollback: output modes', () => {
  test('on a terminal, progress rewrites one line', async () => {
    setup({ stdoutIsTTY: true });
    await run(['--env', 'staging'], world.deps());
    expect(world.stdout).toContain('\r\x1b[2K  d-NEW1: InProgress');
  });

  test('--json writes exactly one JSON result to stdout and the steps to stderr', async () => {
    setup();
    await expect(run(['--env', 'staging', '--json'], world.deps())).resolves.toBe(ExitCode.OK);
    expect(JSON.parse(world.stdout)).toEqual({
      ok: true,
      environment: 'staging',
      action: 'deployed',
      deploymentId: 'd-NEW1',
      fromVersion: '42',
      toVersion: '41',
      elapsedSeconds: 10,
      health: 'HTTP 200',
    });
    expect(world.stderr).toContain('Creating deployment');
  });

  test('--json failures carry the exit code and message', async () => {
    setup({ outputs: null });
    await run(['--env', 'staging', '--json'], world.deps());
    expect(JSON.parse(world.stdout)).toMatchObject({ ok: false, exitCode: ExitCode.MISSING_STACK });
  });
});

describe('shipshape rollback: credentials expire mid-wait', () => {
  test('exits EXPIRED_CREDENTIALS and names the deployment that keeps running', async () => {
    setup();
    world.codeDeploy.on(GetDeploymentCommand).rejects(
      Object.assign(new Error('The security token included in the request is expired'), {
        name: 'ExpiredTokenException',
      }),
    );
    await expect(run(['--env', 'staging'], world.deps())).resolves.toBe(ExitCode.EXPIRED_CREDENTIALS);
    expect(world.stderr).toContain('AWS credentials expired while waiting (ExpiredTokenException');
    expect(world.stderr).toContain('aws deploy get-deployment --deployment-id d-NEW1');
  });
});
