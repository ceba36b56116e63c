/**
 * Cleanup after an execution that itself failed, timed out or was aborted: the EventBridge rule
 * on Step Functions' "Execution Status Change" events and the cleanup state machine it starts,
 * both taken from the synthesized template and run locally. The event stand-in has the shape
 * documented at https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { stateMachineDefinition } from '../helpers/asl';
import { buildVerification } from './fixture';

type Input = Record<string, unknown>;
type Handler = (input: Input) => unknown;

const RUN = 'run-2026-01-02';
const MAIN = /^(?!.*Cleanup)/;
const CLEANUP = /CleanupStateMachine/;

let template: Template;
let main: Record<string, unknown>;
let cleanup: Record<string, unknown>;
let mainLogicalId: string;
beforeAll(() => {
  const { stack } = buildVerification();
  template = Template.fromStack(stack);
  main = stateMachineDefinition(template, MAIN);
  cleanup = stateMachineDefinition(template, CLEANUP);
  mainLogicalId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).find((id) =>
    MAIN.test(id),
  )!;
});

/** The rule's pattern and input transformer, as synthesized. */
function rule() {
  const rules = Object.values(template.findResources('AWS::Events::Rule'));
  const found = rules.filter(
    (r) => (r.Properties.EventPattern as { source?: string[] }).source?.[0] === 'aws.states',
  );
  expect(found).toHaveLength(1);
  return found[0].Properties as {
    EventPattern: { 'detail-type': string[]; detail: { status: string[]; stateMachineArn: unknown[] } };
    Targets: Array<{
      Arn: unknown;
      InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
      RetryPolicy?: Record<string, number>;
    }>;
  };
}

/** The event Step Functions sends when an execution of the main state machine ends with `status`. */
function statusChangeEvent(status: string) {
  return {
    version: '0',
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: `arn:aws:states:eu-west-1:111111111111:execution:main:${RUN}`,
      stateMachineArn: 'arn:aws:states:eu-west-1:111111111111:stateMachine:main',
      name: RUN,
      status,
    },
  };
}

/** Applies an EventBridge input transformer (InputPathsMap of `$.a.b` paths, `<name>` placeholders). */
function transform(
  event: unknown,
  transformer: { InputPathsMap: Record<string, string>; InputTemplate: string },
) {
  const values = Object.fromEntries(
    Object.entries(transformer.InputPathsMap).map(([name, path]) => [
      name,
      path
        .replace(/^\$\./, '')
        .split('.')
        .reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], event),
    ]),
  );
  return JSON.parse(
    transformer.InputTemplate.replace(/<([A-Za-z0-9_-]+)>/g, (_m, name: string) =>
      JSON.stringify(values[name]),
    ),
  ) as Input;
}

async function runCleanup(input: Input, overrides: Record<string, Handler> = {}) {
  const calls: Array<{ state: string; input: Input }> = [];
  const handlers: Record<string, Handler> = {
    CleanupDelete: () => ({ outcome: 'deleting' }),
    CleanupPublishFailureMetrics: () => ({ published: ['Success'] }),
    ...overrides,
  };
  const machine = new StateMachine(cleanup as never);
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(
        Object.entries(handlers).map(([state, handler]) => [
          state,
          async (payload: unknown) => {
            calls.push({ state, input: payload as Input });
            return handler(payload as Input) as never;
          },
        ]),
      ),
      retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((s) => [s, 0])),
    },
  });
  await execution.result;
  return { calls, called: (state: string) => calls.filter((c) => c.state === state) };
}

describe('cleanup when the execution itself ends badly', () => {
  test('a rule on the main state machine’s FAILED, TIMED_OUT and ABORTED executions starts the cleanup', () => {
    const { EventPattern, Targets } = rule();
    expect(EventPattern['detail-type']).toEqual(['Step Functions Execution Status Change']);
    expect(EventPattern.detail.status).toEqual(['FAILED', 'TIMED_OUT', 'ABORTED']);
    expect(EventPattern.detail.stateMachineArn).toEqual([{ Ref: mainLogicalId }]);
    expect(Targets).toHaveLength(1);
    expect(JSON.stringify(Targets[0].Arn)).toMatch(/CleanupStateMachine/);
    expect(Targets[0].RetryPolicy).toMatchObject({ MaximumRetryAttempts: 10 });
  });

  test.each(['TIMED_OUT', 'ABORTED'])(
    'an execution %s has its instance deleted and Success=0 published',
    async (status) => {
      const input = transform(statusChangeEvent(status), rule().Targets[0].InputTransformer);
      expect(input).toEqual({ executionName: RUN, status });
      const run = await runCleanup(input);
      expect(run.called('CleanupDelete').map((c) => c.input)).toEqual([
        { action: 'delete', executionName: RUN },
      ]);
      expect(run.called('CleanupPublishFailureMetrics').map((c) => c.input)).toEqual([
        {
          action: 'report',
          executionName: RUN,
          success: false,
          reason: `The verification execution ended ${status}`,
        },
      ]);
    },
  );

  test('a FAILED execution is deleted again (harmless) but not reported twice: its failure branch already did', async () => {
    const run = await runCleanup(transform(statusChangeEvent('FAILED'), rule().Targets[0].InputTransformer));
    expect(run.called('CleanupDelete')).toHaveLength(1);
    expect(run.called('CleanupPublishFailureMetrics')).toHaveLength(0);
  });

  test('waits for an instance that is still creating before deleting it', async () => {
    let attempts = 0;
    const run = await runCleanup(
      { executionName: RUN, status: 'ABORTED' },
      {
        CleanupDelete: () => {
          attempts += 1;
          if (attempts < 4) {
            throw Object.assign(new Error("instance is 'creating'"), { name: 'InstanceNotDeletableYet' });
          }
          return { outcome: 'deleting' };
        },
      },
    );
    expect(attempts).toBe(4);
    expect(run.called('CleanupPublishFailureMetrics')).toHaveLength(1);
  });

  test('a delete that keeps failing still publishes the failure (the janitor removes the instance later)', async () => {
    const run = await runCleanup(
      { executionName: RUN, status: 'TIMED_OUT' },
      {
        CleanupDelete: () => {
          throw Object.assign(new Error('AccessDenied'), { name: 'AccessDeniedException' });
        },
      },
    );
    expect(run.called('CleanupDelete')).toHaveLength(1);
    expect(run.called('CleanupPublishFailureMetrics')).toHaveLength(1);
  });

  test('injected fault: an execution aborted while waiting for the restore is cleaned up by its name', async () => {
    // Run the real main definition until it waits for the restore, then abort it, as an
    // operator or a redeploy would: no state of its own runs, so no delete happens in it.
    const mainCalls: string[] = [];
    let aborted!: () => void;
    let finishCheck: (value: unknown) => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (aborted = resolve));
    const machine = new StateMachine(main as never);
    const handlers: Record<string, Handler> = {
      Janitor: () => ({ deleted: [] }),
      StartRestore: () => ({
        instanceIdentifier: 'x',
        restorePointTime: '2026-01-02T03:55:00.000Z',
        requestedAt: '2026-01-02T04:00:00.000Z',
        alreadyExisted: false,
      }),
      ReadSourceMigrations: () => ({ migrations: [] }),
      CheckRestore: () => {
        aborted();
        // Still creating when the execution is aborted; answers only afterwards.
        return new Promise((resolve) => (finishCheck = resolve));
      },
    };
    const execution = machine.run(
      {},
      {
        context: { Execution: { Name: RUN } },
        noThrowOnAbort: true,
        overrides: {
          taskResourceLocalHandlers: Object.fromEntries(
            Object.entries(handlers).map(([state, handler]) => [
              state,
              async (input: unknown) => {
                mainCalls.push(state);
                return handler(input as Input) as never;
              },
            ]),
          ),
          waitTimeOverrides: { WaitForRestore: 0 },
        },
      },
    );
    await waiting;
    execution.abort();
    finishCheck({ state: 'pending', status: 'creating', elapsedSeconds: 60 });
    expect(await execution.result).toBeNull();
    expect(mainCalls).not.toContain('DeleteAfterFailure');
    expect(mainCalls).not.toContain('DeleteAfterSuccess');

    // Step Functions emits the ABORTED status change; the rule hands the cleanup the name.
    const run = await runCleanup(transform(statusChangeEvent('ABORTED'), rule().Targets[0].InputTransformer));
    expect(run.called('CleanupDelete')[0].input).toEqual({ action: 'delete', executionName: RUN });
  });
});
