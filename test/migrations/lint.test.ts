/**
 * The migration linter: squawk runs over every migration in `migrations/`; any finding fails
 * the suite unless the statement carries an explicit exemption with a written reason:
 *
 *   -- reason: <why this is safe here, at least a sentence>
 *   -- squawk-ignore <rule>[, <rule>]
 *   <statement>
 *
 * (squawk applies an ignore comment to the next statement, so the reason goes on the line
 * above it, or on the same line after `-- reason:`.) Repository-wide settings: .squawk.toml.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SQUAWK = join(ROOT, 'node_modules', '.bin', 'squawk');
const MIGRATIONS = join(ROOT, 'migrations');
const FIXTURES = join(__dirname, 'fixtures', 'unsafe');

interface Finding {
  readonly file: string;
  readonly line: number;
  readonly rule_name: string;
  readonly message: string;
}

function squawk(file: string): Finding[] {
  let output: string;
  try {
    output = execFileSync(SQUAWK, ['--config', join(ROOT, '.squawk.toml'), '--reporter', 'json', file], {
      cwd: ROOT,
      encoding: 'utf8',
    });
  } catch (error) {
    // squawk exits 1 when it finds something; the JSON report is still on stdout.
    const { stdout, status } = error as { stdout?: string; status?: number };
    if (status !== 1 || !stdout) throw error;
    output = stdout;
  }
  return JSON.parse(output) as Finding[];
}

const MIN_REASON = 20;
const REASON = /--\s*reason:\s*(.*)$/i;

/** Every `squawk-ignore` comment that lacks a reason, as `file:line` messages. */
function exemptionsWithoutReason(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const problems: string[] = [];
  lines.forEach((line, index) => {
    if (!/--\s*squawk-ignore(-file)?\b/.test(line)) return;
    const sameLine = REASON.exec(line.slice(line.indexOf('squawk-ignore')));
    const lineAbove = REASON.exec(lines[index - 1] ?? '');
    const reason = (sameLine ?? lineAbove)?.[1].trim() ?? '';
    if (reason.length < MIN_REASON) {
      problems.push(
        `${file}:${index + 1}: squawk-ignore needs '-- reason: <why it is safe>' (${MIN_REASON}+ chars) on the line above`,
      );
    }
  });
  return problems;
}

const migrationFiles = readdirSync(MIGRATIONS)
  .filter((f) => f.endsWith('.sql'))
  .sort();

describe('migration linter', () => {
  test('there are migrations to lint', () => {
    expect(migrationFiles.length).toBeGreaterThanOrEqual(3);
  });

  test.each(migrationFiles)('%s passes squawk', (file) => {
    const findings = squawk(join(MIGRATIONS, file)).map(
      (f) => `line ${f.line + 1}: ${f.rule_name}: ${f.message}`,
    );
    expect(findings).toEqual([]);
  });

  test.each(migrationFiles)('%s gives a reason for every squawk exemption', (file) => {
    expect(exemptionsWithoutReason(join(MIGRATIONS, file))).toEqual([]);
  });

  test('squawk flags a deliberately unsafe migration', () => {
    const rules = squawk(join(FIXTURES, '0001_unsafe.sql')).map((f) => f.rule_name);
    expect(rules).toEqual(
      expect.arrayContaining([
        'adding-required-field',
        'changing-column-type',
        'require-concurrent-index-creation',
        'ban-drop-column',
      ]),
    );
  });

  test('an exemption without a reason is refused', () => {
    const file = join(FIXTURES, '0002_exempt_without_reason.sql');
    expect(exemptionsWithoutReason(file)).toEqual([
      expect.stringContaining('0002_exempt_without_reason.sql:3'),
    ]);
  });
});
