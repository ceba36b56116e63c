import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { CommandDeps } from '../../../lib/cli/command';
import { HELP, redactUrl, run } from '../../../lib/cli/commands/migrate';
import { ExitCode, main } from '../../../lib/cli/main';
import { MIGRATION_LOCK_ID } from '../../../lib/migrations';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres';

/** Nothing listens on port 1: a command that tried to connect would fail with exit code 1. */
const UNREACHABLE = 'postgres://operator:s3cr3t-pw@127.0.0.1:1/app';

const migration = (phase: string, up: string, down: string) =>
  `-- phase: ${phase}\n-- Up Migration\n${up}\n-- Down Migration\n${down}\n`;

/** A fixed set of migrations (the repository's own grow with every release). */
function migrationsDir(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-cli-migrate-'));
  const files: Record<string, string> = {
    '0001_create_a.sql': migration('expand', 'CREATE TABLE cli_a (id int);', 'DROP TABLE cli_a;'),
    '0002_create_b.sql': migration('expand', 'CREATE TABLE cli_b (id int);', 'DROP TABLE cli_b;'),
    '0003_create_c.sql': migration('expand', 'CREATE TABLE cli_c (id int);', 'DROP TABLE cli_c;'),
    ...extra,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

interface Harness {
  readonly deps: CommandDeps;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly questions: string[];
}

function harness(
  dir: string,
  options: { interactive?: boolean; answer?: string; abortOn?: RegExp } = {},
): Harness {
  let stdout = '';
  let stderr = '';
  const questions: string[] = [];
  const controller = new AbortController();
  const write = (text: string) => {
    if (options.abortOn?.test(text)) controller.abort();
  };
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    questions,
    deps: {
      stdout: { write: (t: string) => ((stdout += t), write(t)) },
      stderr: { write: (t: string) => ((stderr += t), write(t)) },
      interactive: options.interactive ?? false,
      ask: async (question) => {
        questions.push(question);
        return options.answer ?? '';
      },
      now: () => 0,
      sleep: async () => undefined,
      healthCheck: async () => ({ healthy: true, detail: 'unused' }),
      signal: controller.signal,
      createClients: async () => {
        throw new Error('migrate calls no AWS API');
      },
      migrationsDir: dir,
      pollIntervalMs: 1,
    },
  };
}

async function tables(db: TestDatabase): Promise<string[]> {
  const result = await db.pool.query<{ t: string }>(
    "SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'cli_%' ORDER BY 1",
  );
  return result.rows.map((r) => r.t);
}

let dir: string;
beforeAll(() => {
  dir = migrationsDir();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shipshape migrate: help and argument validation (before any connection)', () => {
  test('is registered with the CLI entry point', async () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await expect(main(['migrate', '--help'])).resolves.toBe(ExitCode.OK);
      expect(write.mock.calls.map((c) => String(c[0])).join('')).toContain(
        'Usage: shipshape migrate <up|down|status> --env <staging|production>',
      );
    } finally {
      write.mockRestore();
    }
  });

  test('--help documents --env, --yes, --dry-run, the exit codes and examples', async () => {
    const h = harness(dir);
    await expect(run(['up', '--help'], h.deps)).resolves.toBe(ExitCode.OK);
    for (const text of ['--env <name>', '--yes', '--dry-run', '--database-url', 'Exit codes:', '130']) {
      expect(h.stdout()).toContain(text);
    }
    const examples = HELP.split('Examples:')[1]
      .split('\n')
      .filter((l) => l.includes('shipshape migrate '));
    expect(examples.every((l) => l.includes('--env '))).toBe(true);
  });

  test.each([
    [['up', '--database-url', UNREACHABLE], /--env is required/],
    [['up', '--env', 'prod', '--database-url', UNREACHABLE], /Unknown environment 'prod'/],
    [['--env', 'staging', '--database-url', UNREACHABLE], /missing command: up, down or status/],
    [['sideways', '--env', 'staging', '--database-url', UNREACHABLE], /got 'sideways'/],
    [['up', '--env', 'staging'], /no database: pass --database-url <url> or set DATABASE_URL/],
    [
      ['up', '--env', 'staging', '--database-url', 'mysql://root:s3cr3t-pw@db/app'],
      /must start with postgres:\/\//,
    ],
    [['up', '--env', 'staging', '--database-url', 'not a url s3cr3t-pw'], /not a valid URL/],
    [
      ['up', '--env', 'staging', '--database-url', 'postgres://o:s3cr3t-pw@db'],
      /needs a host and a database name/,
    ],
    [
      ['up', '--env', 'staging', '--database-url', UNREACHABLE, '--count', '0'],
      /--count must be a whole number/,
    ],
    [
      ['up', '--env', 'staging', '--database-url', UNREACHABLE, '--count', '1', '--to', '2'],
      /either --to or --count/,
    ],
    [
      ['up', '--env', 'staging', '--database-url', UNREACHABLE, '--to', '0042'],
      /--to: no migration '0042'; known: 0001_create_a/,
    ],
    [
      ['up', '--env', 'staging', '--database-url', UNREACHABLE, '--to', '0000'],
      /--to 0000 only makes sense with down/,
    ],
    [
      ['down', '--env', 'staging', '--database-url', UNREACHABLE],
      /down needs --to <migration> or --count <n>/,
    ],
    [
      ['down', '--env', 'staging', '--database-url', UNREACHABLE, '--count', '1', '--phase', 'expand'],
      /--phase only applies to up/,
    ],
    [
      ['up', '--env', 'staging', '--database-url', UNREACHABLE, '--phase', 'shrink'],
      /--phase must be expand or contract; got 'shrink'/,
    ],
    [
      ['up', '--env', 'staging', '--database-url', UNREACHABLE, '--lock-timeout', 'soon'],
      /--lock-timeout must be a duration/,
    ],
    [['status', '--env', 'staging', '--database-url', UNREACHABLE, '--yes'], /status takes no --yes/],
    [['up', '--env', 'staging', '--database-url', UNREACHABLE, '--force'], /Unknown option '--force'/],
  ])('%j exits 2 (usage) without connecting or printing the password', async (argv, message) => {
    const h = harness(dir);
    await expect(run(argv, h.deps)).resolves.toBe(ExitCode.USAGE);
    expect(h.stderr()).toMatch(message);
    expect(h.stderr() + h.stdout()).not.toContain('s3cr3t-pw');
  });

  test('invalid migration files exit 1 before connecting', async () => {
    const bad = migrationsDir({
      '0004_no_header.sql': '-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n',
    });
    try {
      const h = harness(bad);
      await expect(run(['status', '--env', 'staging', '--database-url', UNREACHABLE], h.deps)).resolves.toBe(
        ExitCode.FAILED,
      );
      expect(h.stderr()).toContain("0004_no_header.sql: line 1 must be '-- phase: expand'");
      expect(h.stderr()).not.toContain('ECONNREFUSED');
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  test('a failed connection exits 1 and never prints the password', async () => {
    const h = harness(dir);
    await expect(run(['up', '--env', 'staging', '--database-url', UNREACHABLE], h.deps)).resolves.toBe(
      ExitCode.FAILED,
    );
    expect(h.stderr()).toContain('ECONNREFUSED');
    expect(h.stderr()).toContain('postgres://operator:***@127.0.0.1:1/app');
    expect(h.stderr() + h.stdout()).not.toContain('s3cr3t-pw');
    expect(redactUrl(new URL(UNREACHABLE))).toBe('postgres://operator:***@127.0.0.1:1/app');
  });
});

describe('shipshape migrate: production confirmation', () => {
  test('without a terminal and without --yes, up in production exits 8 before connecting', async () => {
    const h = harness(dir);
    await expect(run(['up', '--env', 'production', '--database-url', UNREACHABLE], h.deps)).resolves.toBe(
      ExitCode.NOT_CONFIRMED,
    );
    expect(h.stderr()).toContain('Refusing to apply migrations in production without confirmation');
    expect(h.stderr()).not.toContain('ECONNREFUSED');
  });

  test('a wrong answer to the question exits 8 before connecting', async () => {
    const h = harness(dir, { interactive: true, answer: 'yes' });
    await expect(
      run(['down', '--env', 'production', '--count', '1', '--database-url', UNREACHABLE], h.deps),
    ).resolves.toBe(ExitCode.NOT_CONFIRMED);
    expect(h.questions).toEqual(["Type 'production' to revert migrations in production: "]);
  });

  test('status and --dry-run never ask (they change nothing)', async () => {
    const h = harness(dir, { interactive: true, answer: 'no' });
    await run(['status', '--env', 'production', '--database-url', UNREACHABLE], h.deps);
    await run(['up', '--env', 'production', '--dry-run', '--database-url', UNREACHABLE], h.deps);
    expect(h.questions).toEqual([]);
  });
});

describe('shipshape migrate: against PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('cli_migrate');
  });
  afterAll(() => db.drop());

  test('up --dry-run lists what would run and changes nothing', async () => {
    const h = harness(dir);
    await expect(
      run(['up', '--env', 'staging', '--dry-run', '--database-url', db.url], h.deps),
    ).resolves.toBe(ExitCode.OK);
    expect(h.stdout()).toMatch(/Would apply 3 migration\(s\) \(dry run, nothing changed\)/);
    expect(await tables(db)).toEqual([]);
  });

  test('up in production applies after the environment name is typed, printing no password', async () => {
    const h = harness(dir, { interactive: true, answer: 'production' });
    const previous = process.env.DATABASE_URL;
    process.env.DATABASE_URL = db.url;
    try {
      await expect(run(['up', '--env', 'production', '--to', '2'], h.deps)).resolves.toBe(ExitCode.OK);
    } finally {
      if (previous === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = previous;
    }
    expect(h.questions).toEqual(["Type 'production' to apply migrations in production: "]);
    expect(h.stdout()).toMatch(/Applied 2 migration\(s\):\n\s+0001_create_a\s+expand\s+\d+ ms/);
    expect(h.stdout()).toContain('postgres://shipshape:***@');
    expect(await tables(db)).toEqual(['cli_a', 'cli_b']);
  });

  test('status --json reports each migration', async () => {
    const h = harness(dir);
    await expect(
      run(['status', '--env', 'staging', '--json', '--database-url', db.url], h.deps),
    ).resolves.toBe(ExitCode.OK);
    const status = JSON.parse(h.stdout()) as {
      ok: boolean;
      migrations: Array<{ name: string; state: string }>;
    };
    expect(status.ok).toBe(true);
    expect(status.migrations.map((m) => `${m.name}:${m.state}`)).toEqual([
      '0001_create_a:applied',
      '0002_create_b:applied',
      '0003_create_c:pending',
    ]);
  });

  test('another runner holding the lock exits 3 (refused) and changes nothing', async () => {
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      const h = harness(dir);
      await expect(run(['up', '--env', 'staging', '--database-url', db.url], h.deps)).resolves.toBe(
        ExitCode.REFUSED,
      );
      expect(h.stderr()).toContain('holds the lock');
    } finally {
      await holder.end();
    }
    expect(await tables(db)).toEqual(['cli_a', 'cli_b']);
  });

  test('a plan the database cannot satisfy is a usage error', async () => {
    const h = harness(dir);
    await expect(
      run(['down', '--env', 'staging', '--to', '0003', '--database-url', db.url], h.deps),
    ).resolves.toBe(ExitCode.USAGE);
    expect(h.stderr()).toContain('0003_create_c is not applied');
  });

  test('a failing migration exits 1 and lists the ones applied before it', async () => {
    const failing = migrationsDir({
      '0004_broken.sql': migration('expand', 'CREATE TABLE cli_a (id int);', 'SELECT 1;'),
    });
    try {
      const h = harness(failing);
      await expect(run(['up', '--env', 'staging', '--database-url', db.url], h.deps)).resolves.toBe(
        ExitCode.FAILED,
      );
      expect(h.stderr()).toContain('0004_broken');
      expect(h.stderr()).toContain('Changed:\n  - applied migration 0003_create_c\n');
      expect(await tables(db)).toEqual(['cli_a', 'cli_b', 'cli_c']);
    } finally {
      rmSync(failing, { recursive: true, force: true });
    }
  });

  test('Ctrl-C while migrations run finishes the run and exits 10 listing what was applied', async () => {
    const h = harness(dir, { abortOn: /migration reverted: 0003_create_c/ });
    await expect(
      run(['down', '--env', 'staging', '--to', '0001', '--database-url', db.url], h.deps),
    ).resolves.toBe(ExitCode.INTERRUPTED_AFTER_CHANGE);
    expect(h.stderr()).toContain('a migration cannot be stopped half-way');
    expect(h.stderr()).toContain(
      '  - reverted migration 0003_create_c\n  - reverted migration 0002_create_b\n',
    );
    expect(await tables(db)).toEqual(['cli_a']);
  });

  test('down --to 0000 --json reverts everything, as one JSON document', async () => {
    const h = harness(dir);
    await expect(
      run(['down', '--env', 'staging', '--to', '0000', '--json', '--database-url', db.url], h.deps),
    ).resolves.toBe(ExitCode.OK);
    const result = JSON.parse(h.stdout()) as { applied: Array<{ name: string }> };
    expect(result.applied.map((s) => s.name)).toEqual(['0001_create_a']);
    expect(await tables(db)).toEqual([]);
  });
});
