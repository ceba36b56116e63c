/* eslint-disable @typescript-eslint/no-require-imports -- modules load on first use so that `--help`
   stays fast; `require`, not `import()`, because the bin/shipshape.js shim hooks tsx into CommonJS only. */
/**
 * What the operator commands share: flag parsing and validation (before any AWS call), the
 * runtime (clients, clock, Ctrl-C) and the mapping of every failure to a message and an exit
 * code. This module loads no AWS SDK code, so `--help` stays fast.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AwsClients } from './aws';
import { ChangeLog } from './changes';
import type { HealthResult, Runtime } from './deployments';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes';
import { Output, type WritableText } from './output';

/** The outside world of a command; tests replace any part of it. */
export interface CommandDeps {
  readonly stdout: WritableText;
  readonly stderr: WritableText;
  /** Whether a person can answer a question (stdin and stdout are terminals). */
  readonly interactive: boolean;
  /** Asks a question and returns the answer. */
  ask(question: string): Promise<string>;
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  healthCheck(url: string, signal: AbortSignal): Promise<HealthResult>;
  /** Fires on Ctrl-C. */
  readonly signal: AbortSignal;
  /** Builds the AWS clients once flags are valid. */
  createClients(region: string, profile?: string): Promise<AwsClients>;
  /**
   * Where `shipshape migrate` reads migration files when no --migrations-dir is given. Rollbacks
   * never read local migrations: they decide from what the deployed versions declare.
   * @default - defaultMigrationsDir() of lib/migrations
   */
  readonly migrationsDir?: string;
  readonly pollIntervalMs: number;
  /**
   * Where the command records what it changes (reported on Ctrl-C and failures).
   * @default - a new log per command
   */
  readonly changes?: ChangeLog;
}

/** Flags every environment command accepts. */
export const COMMON_OPTIONS = {
  env: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = [
  'Global options:',
  '  --env <name>       staging | production (required)',
  '  --region <region>  override the region from the environment config',
  '  --profile <name>   AWS named profile (default: the standard credential chain)',
  '  --json             print one JSON document on stdout; progress goes to stderr',
  '  -h, --help         show this help',
  '',
  'AWS_ENDPOINT_URL is honoured. Throttled calls are retried with backoff (adaptive).',
].join('\n');

const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const PROFILE = /^[A-Za-z0-9_.@+=-]{1,128}$/;

export interface CommonFlags {
  readonly environment: string;
  readonly region: string;
  readonly profile?: string;
  readonly json: boolean;
}

/** Parses argv strictly; throws CliError(USAGE) for unknown flags or missing values. */
/** What {@link parseFlags} returns (spelled out so the declaration file can name it). */
export type ParsedFlags<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>['values'];

export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: O,
): ParsedFlags<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), ExitCode.USAGE);
  }
}

/** Validates --env, --region and --profile; reads the region from the environment's config. */
export async function validateCommonFlags(values: {
  env?: string;
  region?: string;
  profile?: string;
  json?: boolean;
}): Promise<CommonFlags> {
  const { ENVIRONMENT_NAMES, loadEnvironmentConfig }: typeof import('../config') = require('../config');
  if (!values.env) {
    throw new CliError(`--env is required (one of ${ENVIRONMENT_NAMES.join(', ')})`, ExitCode.USAGE);
  }
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(values.env)) {
    throw new CliError(
      `Unknown environment '${values.env}': expected one of ${ENVIRONMENT_NAMES.join(', ')}`,
      ExitCode.USAGE,
    );
  }
  if (values.region !== undefined && !REGION.test(values.region)) {
    throw new CliError(
      `--region '${values.region}' is not an AWS region code such as eu-west-1`,
      ExitCode.USAGE,
    );
  }
  if (values.profile !== undefined && !PROFILE.test(values.profile)) {
    throw new CliError(`--profile '${values.profile}' is not a valid profile name`, ExitCode.USAGE);
  }
  const config = loadEnvironmentConfig(values.env);
  return {
    environment: config.name,
    region: values.region ?? config.region,
    profile: values.profile,
    json: values.json === true,
  };
}

/** A runtime for the engine, built after the flags are valid. */
export async function createRuntime(
  deps: CommandDeps,
  out: Output,
  flags: CommonFlags,
  waitTimeoutMs: number,
  changes: ChangeLog = new ChangeLog(),
): Promise<Runtime> {
  return {
    clients: await deps.createClients(flags.region, flags.profile),
    out,
    now: () => deps.now(),
    sleep: (ms, signal) => deps.sleep(ms, signal),
    healthCheck: (url, signal) => deps.healthCheck(url, signal),
    signal: deps.signal,
    changes,
    environment: flags.environment,
    pollIntervalMs: deps.pollIntervalMs,
    waitTimeoutMs,
  };
}

/**
 * Runs a command body and turns whatever it throws into a message and an exit code.
 * `--json` callers also get `{ ok: false, exitCode, error }` on stdout. An interruption (Ctrl-C)
 * after the body recorded a change in `changes` exits INTERRUPTED_AFTER_CHANGE and lists what
 * changed and what still runs; before any change it exits INTERRUPTED and says nothing changed.
 */
export async function runGuarded(
  deps: CommandDeps,
  json: boolean,
  body: (out: Output, changes: ChangeLog) => Promise<ExitCodeValue>,
): Promise<number> {
  const out = new Output({ stdout: deps.stdout, stderr: deps.stderr, json });
  const changes = deps.changes ?? new ChangeLog();
  try {
    return await body(out, changes);
  } catch (error) {
    const { isAbortError, isCredentialError }: typeof import('./aws') = require('./aws');
    let code: ExitCodeValue;
    let message: string;
    const interruption =
      error instanceof CliError
        ? error.exitCode === ExitCode.INTERRUPTED
        : isAbortError(error) || (deps.signal.aborted && !isCredentialError(error));
    if (interruption) {
      code = changes.changed ? ExitCode.INTERRUPTED_AFTER_CHANGE : ExitCode.INTERRUPTED;
      message =
        error instanceof CliError
          ? error.message
          : changes.changed
            ? 'Interrupted (Ctrl-C).'
            : 'Interrupted before any change was made; nothing was changed.';
    } else if (error instanceof CliError) {
      code = error.exitCode;
      message = error.message;
    } else if (isCredentialError(error)) {
      code = ExitCode.EXPIRED_CREDENTIALS;
      message =
        `AWS credentials are missing, expired or invalid (${(error as Error).name}: ${(error as Error).message}). ` +
        'Refresh them (e.g. aws sso login --profile <name>) and run the command again.';
    } else {
      code = ExitCode.FAILED;
      message = `Failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    }
    // After a change, every failure says what changed and what still runs.
    if (changes.changed) message = [message, ...changes.report()].join('\n');
    out.warn(`shipshape: ${message}`);
    if (json) out.result({ ok: false, exitCode: code, error: message });
    return code;
  }
}

/** Real terminals, real clock, real AWS. Ctrl-C aborts `signal` instead of killing the process. */
export function defaultDeps(): CommandDeps & { dispose(): void } {
  const controller = new AbortController();
  const changes = new ChangeLog();
  // The first Ctrl-C aborts `signal` (the command stops waiting and reports); a second one exits
  // at once, still saying what was changed, with the matching exit code.
  const onSigint = () => {
    if (!controller.signal.aborted) {
      controller.abort();
      return;
    }
    const report = changes.changed
      ? ['shipshape: second Ctrl-C: exiting at once.', ...changes.report()]
      : ['shipshape: second Ctrl-C: exiting at once; nothing was changed.'];
    process.stderr.write(`${report.join('\n')}\n`);
    process.exit(changes.changed ? ExitCode.INTERRUPTED_AFTER_CHANGE : ExitCode.INTERRUPTED);
  };
  process.on('SIGINT', onSigint);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    ask: async (question) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return await rl.question(question, { signal: controller.signal });
      } finally {
        rl.close();
      }
    },
    now: () => Date.now(),
    sleep: async (ms, signal) => {
      const { setTimeout: delay } = await import('node:timers/promises');
      await delay(ms, undefined, { signal });
    },
    healthCheck: async (url, signal) =>
      (require('./deployments') as typeof import('./deployments')).httpHealthCheck(url, signal),
    signal: controller.signal,
    createClients: async (region, profile) =>
      (require('./aws') as typeof import('./aws')).createAwsClients({ region, profile }),
    pollIntervalMs: 5_000,
    changes,
    dispose: () => process.off('SIGINT', onSigint),
  };
}

/** Runs `body` with default deps unless the caller passed some, and releases the Ctrl-C handler. */
export async function withDeps(
  deps: CommandDeps | undefined,
  body: (deps: CommandDeps) => Promise<number>,
): Promise<number> {
  if (deps) return body(deps);
  const real = defaultDeps();
  try {
    return await body(real);
  } finally {
    real.dispose();
  }
}

/** Asks for confirmation where one is needed; throws NOT_CONFIRMED when none can be given. */
export async function confirmProduction(
  deps: CommandDeps,
  out: Output,
  environment: string,
  action: string,
): Promise<void> {
  if (!deps.interactive) {
    throw new CliError(
      `Refusing to ${action} in ${environment} without confirmation: no terminal to ask on. Re-run with --yes ` +
        'once you are sure. Nothing was changed.',
      ExitCode.NOT_CONFIRMED,
    );
  }
  out.info('');
  let answer: string;
  try {
    answer = await deps.ask(`Type '${environment}' to ${action} in ${environment}: `);
  } catch (error) {
    if (deps.signal.aborted)
      throw new CliError(
        'Interrupted at the confirmation prompt; nothing was changed.',
        ExitCode.INTERRUPTED,
      );
    throw error;
  }
  if (answer.trim() !== environment) {
    throw new CliError(
      `Not confirmed (expected '${environment}'); nothing was changed.`,
      ExitCode.NOT_CONFIRMED,
    );
  }
}
