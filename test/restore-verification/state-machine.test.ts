import { Template } from 'aws-cdk-lib/assertions';
import aslValidator from 'asl-validator';
import { StateMachine } from 'aws-local-stepfunctions';
import { stateMachineDefinition } from '../helpers/asl';
import { buildVerification } from './fixture';

type Input = Record<string, unknown>;
type Handler = (input: Input) => unknown;

const RUN = 'run-2026-01-01';
const REQUESTED_AT = '2026-01-01T04:00:00.000Z';
const MAIN_PATH_TASKS = [
  'Janitor',
  'StartRestore',
  'ReadSourceMigrations',
  'CheckRestore',
  'Verify',
  'DeleteAfterSuccess',
  'PublishSuccessMetrics',
] as const;

class InjectedFailure extends Error {
  override readonly name = 'InjectedFailure';
}

let definition: Record<string, unknown>;
beforeAll(() => {
  const { stack } = buildVerification();
  definition = stateMachineDefinition(Template.fromStack(stack), /^(?!.*Cleanup)/);
});

/** Runs the synthesized definition with every task replaced by a local handler; records calls. */
async function execute(options: {
  failAt?: string;
  restoreStates?: string[];
  overrides?: Record<string, Handler>;
}) {
  const calls: Array<{ state: string; input: Input }> = [];
  const restoreStates = [...(options.restoreStates ?? ['pending', 'available'])];
  const handlers: Record<string, Handler> = {
    Janitor: () => ({ deleted: [] }),
    StartRestore: () => ({
      instanceIdentifier: 'shipshape-rv-run-2026-01-01-1a2b3c4d',
      restorePointTime: '2026-01-01T03:55:00.000Z',
      requestedAt: REQUESTED_AT,
      alreadyExisted: false,
    }),
    ReadSourceMigrations: () => ({
      migrations: [{ name: '0003_accounts_notes', runOn: '2025-12-01T00:00:00.000Z' }],
    }),
    CheckRestore: () => {
      const state = restoreStates.length > 1 ? restoreStates.shift()! : restoreStates[0];
      return {
        instanceIdentifier: 'shipshape-rv-run-2026-01-01-1a2b3c4d',
        state,
        status:
          state === 'available' ? 'available' : state === 'failed' ? 'incompatible-restore' : 'creating',
        elapsedSeconds: state === 'timedOut' ? 5401 : 600,
        ...(state === 'available' ? { host: 'restored.example.internal', port: 5432 } : {}),
      };
    },
    Verify: () => ({ passed: true, failures: [], rtoSeconds: 1500, rpoSeconds: 420 }),
    DeleteAfterSuccess: () => ({ outcome: 'deleting' }),
    DeleteAfterFailure: () => ({ outcome: 'deleting' }),
    PublishSuccessMetrics: () => ({ published: ['Success', 'RtoSeconds', 'RpoSeconds'] }),
    PublishFailureMetrics: () => ({ published: ['Success'] }),
    NotifyFailure: () => ({ MessageId: 'message-1' }),
    ...options.overrides,
  };
  const taskResourceLocalHandlers = Object.fromEntries(
    Object.entries(handlers).map(([state, handler]) => [
      state,
      async (input: unknown) => {
        calls.push({ state, input: input as Input });
        if (options.failAt === state) throw new InjectedFailure(`${state} failed (injected)`);
        return handler(input as Input) as never;
      },
    ]),
  );
  const machine = new StateMachine(definition as never);
  const execution = machine.run(
    {},
    {
      context: { Execution: { Name: RUN, StartTime: REQUESTED_AT } },
      overrides: {
        taskResourceLocalHandlers,
        waitTimeOverrides: { WaitForRestore: 0 },
        retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((s) => [s, 0])),
      },
    },
  );
  let error: Error | undefined;
  let output: unknown;
  try {
    output = await execution.result;
  } catch (e) {
    error = e as Error;
  }
  const called = (state: string) => calls.filter((c) => c.state === state);
  return { calls, called, error, output, states: calls.map((c) => c.state) };
}

describe('restore verification state machine (synthesized definition, run locally)', () => {
  test('is valid Amazon States Language', () => {
    const { isValid, errorsText } = aslValidator(definition);
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  test('happy path: restores, polls until available, verifies, deletes, publishes success', async () => {
    const run = await execute({});
    expect(run.error).toBeUndefined();
    expect(run.states).toEqual([
      'Janitor',
      'StartRestore',
      'ReadSourceMigrations',
      'CheckRestore',
      'CheckRestore',
      'Verify',
      'DeleteAfterSuccess',
      'PublishSuccessMetrics',
    ]);
    expect(run.called('StartRestore')[0].input).toEqual({ action: 'startRestore', executionName: RUN });
    expect(run.called('Verify')[0].input).toEqual({
      action: 'verify',
      host: 'restored.example.internal',
      port: 5432,
      restorePointTime: '2026-01-01T03:55:00.000Z',
      requestedAt: REQUESTED_AT,
      sourceMigrations: [{ name: '0003_accounts_notes', runOn: '2025-12-01T00:00:00.000Z' }],
    });
    expect(run.called('DeleteAfterSuccess')[0].input).toEqual({ action: 'delete', executionName: RUN });
    expect(run.called('PublishSuccessMetrics')[0].input).toEqual({
      action: 'report',
      executionName: RUN,
      success: true,
      rtoSeconds: 1500,
      rpoSeconds: 420,
    });
    expect(run.called('DeleteAfterFailure')).toHaveLength(0);
    expect(run.called('NotifyFailure')).toHaveLength(0);
  });

  test.each(MAIN_PATH_TASKS)(
    'a failure in %s still deletes the instance, publishes Success=0, notifies and fails the run',
    async (failAt) => {
      const run = await execute({ failAt });
      expect(run.error?.message).toBe(
        `Execution has failed with the following error: ${failAt} failed (injected)`,
      );
      const deletes = [...run.called('DeleteAfterSuccess'), ...run.called('DeleteAfterFailure')];
      expect(deletes.length).toBeGreaterThanOrEqual(1);
      expect(run.called('DeleteAfterFailure')).toHaveLength(1);
      expect(run.called('DeleteAfterFailure')[0].input).toEqual({ action: 'delete', executionName: RUN });
      expect(run.called('PublishFailureMetrics')).toHaveLength(1);
      expect(run.called('PublishFailureMetrics')[0].input).toEqual({
        action: 'report',
        executionName: RUN,
        success: false,
        reason: `${failAt} failed (injected)`,
      });
      const notification = run.called('NotifyFailure')[0].input;
      expect(notification.Message).toContain('Error: InjectedFailure');
      expect(notification.Message).toContain(`${failAt} failed (injected)`);
      expect(run.states.slice(-3)).toEqual(['DeleteAfterFailure', 'PublishFailureMetrics', 'NotifyFailure']);
    },
  );

  test.each([
    ['failed', 'RestoreFailed', 'status incompatible-restore'],
    ['timedOut', 'RestoreTimedOut', 'after 5401 seconds'],
  ])('a restore that ends %s is cleaned up and reported as %s', async (state, error, cause) => {
    const run = await execute({ restoreStates: ['pending', state] });
    expect(run.called('Verify')).toHaveLength(0);
    expect(run.called('DeleteAfterFailure')).toHaveLength(1);
    expect(run.called('PublishFailureMetrics')[0].input).toMatchObject({ success: false });
    expect(run.called('PublishFailureMetrics')[0].input.reason).toContain(cause);
    expect(run.called('NotifyFailure')[0].input.Message).toContain(`Error: ${error}`);
    expect(run.error).toBeDefined();
  });

  test('a failed verification is cleaned up and its reason notified', async () => {
    const run = await execute({
      overrides: {
        Verify: () => {
          throw Object.assign(
            new Error('critical table public.notes is missing from the restored database'),
            {
              name: 'VerificationFailed',
            },
          );
        },
      },
    });
    expect(run.called('DeleteAfterFailure')).toHaveLength(1);
    expect(run.called('NotifyFailure')[0].input.Message).toContain('Error: VerificationFailed');
    expect(run.called('NotifyFailure')[0].input.Message).toContain('public.notes is missing');
    expect(run.error).toBeDefined();
  });

  test('a failing delete on the failure path still publishes the failure metric and notifies', async () => {
    const run = await execute({
      failAt: 'Verify',
      overrides: {
        DeleteAfterFailure: () => {
          throw new Error('AccessDenied');
        },
      },
    });
    expect(run.called('DeleteAfterFailure')).toHaveLength(1);
    expect(run.called('PublishFailureMetrics')).toHaveLength(1);
    expect(run.called('NotifyFailure')).toHaveLength(1);
    expect(run.error).toBeDefined();
  });

  test('a failing failure-metric step still notifies and fails the run', async () => {
    const run = await execute({
      failAt: 'Janitor',
      overrides: {
        PublishFailureMetrics: () => {
          throw new Error('boom');
        },
      },
    });
    expect(run.called('NotifyFailure')).toHaveLength(1);
    expect(run.error).toBeDefined();
  });

  test('the delete waits for an instance that is still creating (retries InstanceNotDeletableYet)', async () => {
    let attempts = 0;
    const run = await execute({
      failAt: 'ReadSourceMigrations',
      overrides: {
        DeleteAfterFailure: () => {
          attempts += 1;
          if (attempts < 3) {
            throw Object.assign(new Error("instance is 'creating'"), { name: 'InstanceNotDeletableYet' });
          }
          return { outcome: 'deleting' };
        },
      },
    });
    expect(attempts).toBe(3);
    expect(run.called('PublishFailureMetrics')).toHaveLength(1);
  });

  test('a retryable error is retried before the run gives up on the step', async () => {
    let attempts = 0;
    const run = await execute({
      overrides: {
        StartRestore: () => {
          attempts += 1;
          if (attempts === 1) throw Object.assign(new Error('throttled'), { name: 'RetryableError' });
          return {
            instanceIdentifier: 'x',
            restorePointTime: '2026-01-01T03:55:00.000Z',
            requestedAt: REQUESTED_AT,
            alreadyExisted: true,
          };
        },
      },
    });
    expect(attempts).toBe(2);
    expect(run.error).toBeUndefined();
    expect(run.called('PublishSuccessMetrics')).toHaveLength(1);
  });

  const notReady = () =>
    Object.assign(new Error('the restored copy is not reachable yet (ECONNREFUSED)'), {
      name: 'DatabaseNotReady',
    });

  test.each(['Verify', 'ReadSourceMigrations'])(
    '%s retries DatabaseNotReady with backoff and the run then succeeds',
    async (state) => {
      let attempts = 0;
      const succeedWith =
        state === 'Verify'
          ? { passed: true, failures: [], rtoSeconds: 1500, rpoSeconds: 420 }
          : { migrations: [{ name: '0003_accounts_notes', runOn: '2025-12-01T00:00:00.000Z' }] };
      const run = await execute({
        overrides: {
          [state]: () => {
            attempts += 1;
            if (attempts <= 3) throw notReady();
            return succeedWith;
          },
        },
      });
      expect(run.error).toBeUndefined();
      expect(run.called(state)).toHaveLength(4);
      expect(run.called('DeleteAfterFailure')).toHaveLength(0);
      expect(run.called('PublishSuccessMetrics')).toHaveLength(1);
    },
  );

  test('a copy that never becomes reachable fails after the retries, and is still cleaned up', async () => {
    const run = await execute({
      overrides: {
        Verify: () => {
          throw notReady();
        },
      },
    });
    expect(run.called('Verify')).toHaveLength(7); // the first attempt and 6 retries
    expect(run.called('DeleteAfterFailure')).toHaveLength(1);
    expect(run.called('NotifyFailure')[0].input.Message).toContain('Error: DatabaseNotReady');
    expect(run.error).toBeDefined();
  });

  test('connection retries back off exponentially with full jitter, at most 5 minutes apart', () => {
    const states = definition.States as Record<string, { Retry?: Array<Record<string, unknown>> }>;
    for (const state of ['Verify', 'ReadSourceMigrations']) {
      expect(states[state].Retry).toContainEqual({
        ErrorEquals: ['DatabaseNotReady'],
        IntervalSeconds: 15,
        BackoffRate: 2,
        MaxAttempts: 6,
        MaxDelaySeconds: 300,
        JitterStrategy: 'FULL',
      });
    }
  });
});
