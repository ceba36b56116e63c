/**
 * Entry point of the `shipshape` operator CLI. Each command lives in its own module and is
 * loaded only when it runs, so `--help` stays fast at 3 AM.
 */

import { ExitCode } from './exit-codes';

/** Exit codes shared by every command (lib/cli/exit-codes.ts); scripts and runbooks rely on them. */
export { ExitCode };

// Commands load with `require` on first use (not `import()`: the tsx shim hooks CommonJS only).
/* eslint-disable @typescript-eslint/no-require-imports */
interface CommandSpec {
  readonly summary: string;
  /** Loads the command module on first use (keeps `--help` from loading the AWS SDK). */
  readonly load: () => Promise<{ run(argv: string[]): Promise<number> }>;
}

const COMMANDS: Record<string, CommandSpec> = {
  status: {
    summary: 'Show the live and previous versions, recent deployments, and whether a rollback is possible',
    load: async () => require('./commands/status') as typeof import('./commands/status'),
  },
  rollback: {
    summary: 'Roll the service back to the previous (or a given) version in one step',
    load: async () => require('./commands/rollback') as typeof import('./commands/rollback'),
  },
  drill: {
    summary: 'Practise a rollback and roll-forward in staging, and record how long each took',
    load: async () => require('./commands/drill') as typeof import('./commands/drill'),
  },
  migrate: {
    summary: 'Apply, revert or list database migrations (up | down | status)',
    // require, not import(): this package is CommonJS under NodeNext, where a dynamic import()
    // needs a file extension and bypasses the tsx CommonJS hook that bin/shipshape.js registers.
    load: async () => require('./commands/migrate') as typeof import('./commands/migrate'),
  },
  audit: {
    summary: 'Print a production-readiness report for any synthesized CDK app (cdk.out)',
    load: async () => require('./commands/audit') as typeof import('./commands/audit'),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, spec]) => `  ${name.padEnd(width)}  ${spec.summary}`);
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
    const { existsSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    // lib/cli in the repository, dist/lib/cli in the installed package.
    const manifest = [
      join(__dirname, '..', '..', 'package.json'),
      join(__dirname, '..', '..', '..', 'package.json'),
    ].find(
      (p) =>
        existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === '@shipshape/cdk',
    );
    const { version } = JSON.parse(
      readFileSync(manifest ?? join(__dirname, '..', '..', 'package.json'), 'utf8'),
    ) as {
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
  const module = await spec.load();
  return module.run(rest);
}
