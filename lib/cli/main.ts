/**
 * Entry point of the `shipshape` operator CLI. Each command lives in its own module and is
 * loaded only when it runs, so `--help` stays fast at 3 AM.
 */

/** Exit codes shared by every command; scripts and runbooks rely on them. */
export const ExitCode = {
  OK: 0,
  /** An unexpected failure: the command did not finish what it set out to do. */
  FAILED: 1,
  /** The command line is wrong (unknown command or flag, bad value). Nothing was changed. */
  USAGE: 2,
} as const;

interface CommandSpec {
  readonly summary: string;
  /** Loads the command; absent while the command is not part of this release. */
  readonly load?: () => Promise<{ run(argv: string[]): Promise<number> }>;
}

const COMMANDS: Record<string, CommandSpec> = {
  status: {
    summary: 'Show the live and previous versions, recent deployments, and whether a rollback is possible',
  },
  rollback: { summary: 'Roll the service back to the previous (or a given) version in one step' },
  drill: { summary: 'Practise a rollback and roll-forward in staging, and record how long each took' },
  migrate: {
    summary: 'Apply, revert or list database migrations (up | down | status)',
    // require, not import(): this package is CommonJS under NodeNext, where a dynamic import()
    // needs a file extension and bypasses the tsx CommonJS hook that bin/shipshape.js registers.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    load: async () => require('./commands/migrate') as typeof import('./commands/migrate'),
  },
  audit: { summary: 'Print a production-readiness report for any synthesized CDK app (cdk.out)' },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, spec]) =>
      `  ${name.padEnd(width)}  ${spec.summary}${spec.load ? '' : ' (coming in a later release)'}`,
  );
  return [
    'Usage: shipshape <command> [options]',
    '',
    'Operate a Shipshape staging + production pair: deploys, rollbacks, drills, migrations.',
    '',
    'Commands:',
    ...lines,
    '',
    'Global options:',
    '  --help, -h     Show help (also: shipshape <command> --help)',
    '  --version      Print the version',
    '',
    'AWS credentials and region come from the usual AWS SDK chain; AWS_ENDPOINT_URL is honoured.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage());
    return ExitCode.OK;
  }
  if (command === '--version') {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    console.log(version);
    return ExitCode.OK;
  }
  const spec = COMMANDS[command];
  if (!spec) {
    console.error(`shipshape: unknown command '${command}'\n\n${usage()}`);
    return ExitCode.USAGE;
  }
  if (!spec.load) {
    console.error(`shipshape ${command}: not available in this release yet.`);
    return ExitCode.USAGE;
  }
  const module = await spec.load();
  return module.run(rest);
}
