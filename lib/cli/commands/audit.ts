/**
 * `shipshape audit <cdk.out>`: the production-readiness report of any synthesized CDK app.
 * Reads only the cloud assembly (manifest and templates), so it needs no AWS credentials and
 * works on apps that do not use Shipshape.
 */
import { parseArgs } from 'node:util';
import { AssemblyError, auditAssembly, hasFindingsAtOrAbove } from '../../policy/audit';
import { toSarif } from '../../policy/formats/sarif';
import { formatAuditMarkdown, formatAuditText } from '../../policy/formats/text';
import { SEVERITIES, type Severity } from '../../policy/rule';
import { ExitCode } from '../exit-codes';

export const HELP = `Usage: shipshape audit [<cdk.out>] [options]

The launch checklist for any synthesized CDK app (not only Shipshape). Checks what each
resource gets wrong and what the whole app lacks, in five groups: data (backups, restore
tests, Multi-AZ, deletion protection, kept on delete), deploys (a rollback path for every
compute that serves traffic), visibility (alarms on every entry point and datastore, one
that pages a human), edge and auth (HTTPS, modern TLS, WAF with a rate limit, no route
without authorisation), secrets and logs. Findings come in the order to work them:
blockers, hardening, cleanup, each with the resource and the fix. Every rule, with the
checklist item it comes from: lib/policy/RULES.md.

Arguments:
  <cdk.out>                      The cloud assembly directory (default: cdk.out)

Options:
  --format <text|json|sarif|markdown>
                                 Output format (default: text)
                                   text      for a terminal
                                   json      the whole report, for scripts
                                   sarif     SARIF 2.1.0 for code scanning (GitHub, Azure DevOps)
                                   markdown  for a pull-request comment
  --json                         Same as --format json
  --fail-on <blocker|hardening|cleanup>
                                 Lowest severity that makes the exit code 1 (default: cleanup,
                                 i.e. any finding)
  --production                   Treat every stack as production
  --production-stack <name>      Treat this stack as production (display or stack name, * as a
                                 wildcard); repeatable
  --min-backup-retention <days>  Minimum RDS backup retention (default 7)
  --verbose                      Also list acknowledged findings with their reasons (text)
  -h, --help                     Show this help

Production detection (Multi-AZ and deletion protection are required only there). For each
stack, the first that applies:
  1. --production, or --production-stack naming the stack
  2. an environment tag: Environment (or environment, Env, Stage) = production, prod, prd or
     live means production; any other value (staging) means not production
  3. the stage name: a stage called Production, Prod, ...
  4. a word of the stack name: my-app-prod, MyAppProductionStack
The report lists every stack with the decision and its reason. When no stack is production it
says so, because the production-only checks then did not run.

Readiness: NOT READY while any blocker stands, whatever the score. The score weighs every
check by severity (blocker 10, hardening 3, cleanup 1); acknowledged findings count as passed.

Acknowledging: a finding acknowledged next to its resource,
  Validations.of(resource).acknowledge({ id: 'ProductionReadiness-<Rule>', reason: '...' })
or under an equivalent rule of another pack (AwsSolutions-SMG4 for SecretRotation), is listed
with its reason and does not count against readiness.

Examples:
  npx cdk synth --quiet && shipshape audit cdk.out
  shipshape audit cdk.out --fail-on blocker
  shipshape audit cdk.out --format sarif > readiness.sarif
  shipshape audit cdk.out --format markdown > comment.md
  shipshape audit ../other-team/cdk.out --production-stack 'api-prod*' --min-backup-retention 14

Exit codes:
  0  no finding at or above --fail-on (default: no finding at all)
  1  at least one finding at or above --fail-on
  2  bad arguments, or the directory is not a cloud assembly`;

class UsageError extends Error {}

type Format = 'text' | 'json' | 'sarif' | 'markdown';
const FORMATS: readonly Format[] = ['text', 'json', 'sarif', 'markdown'];

interface Invocation {
  readonly dir: string;
  readonly format: Format;
  readonly failOn: Severity;
  readonly verbose: boolean;
  readonly production?: boolean;
  readonly productionStacks: readonly string[];
  readonly minimumBackupRetentionDays?: number;
}

/** Node's parseArgs messages, rewritten where they are unclear (its unknown-option hint has an unbalanced quote). */
function usageMessage(error: Error & { code?: string }): string {
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(error.message)?.[1] ?? 'option';
    return `unknown option ${option}. To pass a directory whose name starts with '-', put it after --: shipshape audit -- ${option}`;
  }
  return error.message;
}

function parseInvocation(argv: string[]): Invocation | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        json: { type: 'boolean' },
        'fail-on': { type: 'string' },
        production: { type: 'boolean' },
        'production-stack': { type: 'string', multiple: true },
        'min-backup-retention': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(usageMessage(error as Error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 1)
    throw new UsageError(`expected one assembly directory, got ${positionals.join(' ')}`);
  const format = (values.format ?? (values.json ? 'json' : 'text')) as Format;
  if (!FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got '${format}'`);
  if (values.json && values.format !== undefined && values.format !== 'json')
    throw new UsageError(`--json contradicts --format ${values.format}; pass one of them`);
  const failOn = (values['fail-on'] ?? 'cleanup') as Severity;
  if (!SEVERITIES.includes(failOn))
    throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(', ')}, got '${values['fail-on']}'`);
  let minimumBackupRetentionDays: number | undefined;
  const raw = values['min-backup-retention'];
  if (raw !== undefined) {
    minimumBackupRetentionDays = Number(raw);
    if (!/^\d+$/.test(raw) || minimumBackupRetentionDays < 1 || minimumBackupRetentionDays > 35)
      throw new UsageError(
        `--min-backup-retention must be a whole number of days from 1 to 35, got '${raw}'`,
      );
  }
  const productionStacks = values['production-stack'] ?? [];
  if (productionStacks.some((s) => s.trim() === ''))
    throw new UsageError('--production-stack needs a stack name');
  return {
    dir: positionals[0] ?? 'cdk.out',
    format,
    failOn,
    verbose: values.verbose ?? false,
    production: values.production,
    productionStacks,
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
      productionStacks: invocation.productionStacks,
      minimumBackupRetentionDays: invocation.minimumBackupRetentionDays,
    });
    const output =
      invocation.format === 'json'
        ? JSON.stringify(report, null, 2)
        : invocation.format === 'sarif'
          ? JSON.stringify(toSarif(report), null, 2)
          : invocation.format === 'markdown'
            ? formatAuditMarkdown(report)
            : formatAuditText(report, invocation);
    console.log(output);
    return hasFindingsAtOrAbove(report, invocation.failOn) ? ExitCode.FAILED : ExitCode.OK;
  } catch (error) {
    if (!(error instanceof AssemblyError)) throw error;
    if (invocation.format === 'json') console.log(JSON.stringify({ error: error.message }, null, 2));
    console.error(`shipshape audit: ${error.message}`);
    return ExitCode.USAGE;
  }
}
