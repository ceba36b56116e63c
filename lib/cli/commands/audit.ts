/**
 * `shipshape audit <cdk.out>`: the production-readiness report of any synthesized CDK app.
 * Reads only the cloud assembly (manifest and templates), so it needs no AWS credentials and
 * works on apps that do not use Shipshape.
 */
import { parseArgs } from 'node:util';
import { AssemblyError, auditAssembly, formatAuditReport } from '../../policy/audit';
import { ExitCode } from '../main';

export const HELP = `Usage: shipshape audit [<cdk.out>] [options]

Print a production-readiness report for a synthesized CDK app (any app, not only Shipshape):
each checklist item pass/fail per stack, the offending resources (logical id and construct path)
with the fix, and a score. The checks are the ProductionReadiness rule pack (lib/policy/RULES.md).

Arguments:
  <cdk.out>                     The cloud assembly directory (default: cdk.out)

Options:
  --min-backup-retention <days> Minimum RDS backup retention (default 7)
  --production                  Treat every stack as production (default: stacks tagged
                                Environment=production or prod)
  --verbose                     Also list the checks that did not apply
  --json                        Print the report as JSON (for CI)
  -h, --help                    Show this help

Examples:
  npx cdk synth --quiet && shipshape audit cdk.out
  shipshape audit cdk.out --json > readiness.json
  shipshape audit ../other-team/cdk.out --min-backup-retention 14 --production

Findings acknowledged in the template (cdk-nag's cdk_nag.rules_to_suppress metadata, written
with writeSuppressionsToCloudFormation: true) are listed with their reason and do not fail.

Exit codes: 0 every check passed, 1 at least one check failed, 2 bad arguments or not a
cloud assembly.`;

class UsageError extends Error {}

interface Invocation {
  readonly dir: string;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly production?: boolean;
  readonly minimumBackupRetentionDays?: number;
}

function parseInvocation(argv: string[]): Invocation | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'min-backup-retention': { type: 'string' },
        production: { type: 'boolean' },
        verbose: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 1)
    throw new UsageError(`expected one assembly directory, got ${positionals.join(' ')}`);
  let minimumBackupRetentionDays: number | undefined;
  const raw = values['min-backup-retention'];
  if (raw !== undefined) {
    minimumBackupRetentionDays = Number(raw);
    if (!/^\d+$/.test(raw) || minimumBackupRetentionDays < 1 || minimumBackupRetentionDays > 35) {
      throw new UsageError(
        `--min-backup-retention must be a whole number of days from 1 to 35, got '${raw}'`,
      );
    }
  }
  return {
    dir: positionals[0] ?? 'cdk.out',
    json: values.json ?? false,
    verbose: values.verbose ?? false,
    production: values.production,
    minimumBackupRetentionDays,
  };
}

export async function run(argv: string[]): Promise<number> {
  let invocation: Invocation | 'help';
  try {
    invocation = parseInvocation(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`shipshape audit: ${error.message}\nRun 'shipshape audit --help' for usage.`);
    return ExitCode.USAGE;
  }
  if (invocation === 'help') {
    console.log(HELP);
    return ExitCode.OK;
  }
  try {
    const report = auditAssembly(invocation.dir, {
      production: invocation.production,
      minimumBackupRetentionDays: invocation.minimumBackupRetentionDays,
    });
    console.log(invocation.json ? JSON.stringify(report, null, 2) : formatAuditReport(report, invocation));
    return report.ok ? ExitCode.OK : ExitCode.FAILED;
  } catch (error) {
    if (!(error instanceof AssemblyError)) throw error;
    if (invocation.json) console.log(JSON.stringify({ error: error.message }, null, 2));
    console.error(`shipshape audit: ${error.message}`);
    return ExitCode.USAGE;
  }
}
