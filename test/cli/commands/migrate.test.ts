import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELP, redactUrl, run } from '../../../lib/cli/commands/migrate';
import { ExitCode, main } from '../../../lib/cli/main';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres';

/** Nothing listens on port 1: a command that tried to connect would fail with exit code 1, not 2. */
const UNREACHABLE = 'postgres://operator:s3cr3t-pw@127.0.0.1:1/app';

describe('shipshape migrate', () => {
  let out: jest.SpyInstance;
  let err: jest.SpyInstance;
  const stdout = () => out.mock.calls.map((c) => String(c[0])).join('\n');
  const stderr = () => err.mock.calls.map((c) => String(c[0])).join('\n');
  const previousUrl = process.env.DATABASE_URL;
  beforeEach(() => {
    delete process.env.DATABASE_URL;
    out = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    if (previousUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previousUrl;
  });

  test('is registered with the CLI entry point', async () => {
    await expect(main(['migrate', '--help'])).resolves.toBe(ExitCode.OK);
    expect(stdout()).toContain('Usage: shipshape migrate <up|down|status>');
  });

  test('--help documents every command and flag, with examples', async () => {
    await expect(run(['--help'])).resolves.toBe(ExitCode.OK);
    for (const text of [
      'up ',
      'down ',
      'status ',
      '--database-url',
      '--to',
      '--count',
      '--dry-run',
      '--json',
    ])
      expect(HELP).toContain(text);
    const examples = HELP.split('Examples:')[1]
      .split('\n')
      .filter((l) => l.includes('shipshape migrate '));
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  describe('validates the arguments before connecting (usage error, exit 2)', () => {
    test.each([
      [[], /missing command: up, down or status/],
      [
        ['sideways', '--database-url', UNREACHABLE],
        /expected one command \(up, down or status\); got 'sideways'/,
      ],
      [['up'], /no database: pass --database-url <url> or set DATABASE_URL/],
      [['up', '--database-url', 'mysql://root:s3cr3t-pw@db/app'], /must start with postgres:\/\//],
      [['up', '--database-url', 'not a url s3cr3t-pw'], /not a valid URL/],
      [['up', '--database-url', 'postgres://operator:s3cr3t-pw@db'], /needs a host and a database name/],
      [
        ['up', '--database-url', UNREACHABLE, '--count', '0'],
        /--count must be a whole number of at least 1; got '0'/,
      ],
      [['up', '--database-url', UNREACHABLE, '--count', 'two'], /--count must be a whole number/],
      [['up', '--database-url', UNREACHABLE, '--count', '1', '--to', '0002'], /either --to or --count/],
      [['up', '--database-url', UNREACHABLE, '--to', '0042'], /--to: no migration '0042'; known: 0001_roles/],
      [['up', '--database-url', UNREACHABLE, '--to', '0000'], /--to 0000 only makes sense with down/],
      [['down', '--database-url', UNREACHABLE], /down needs --to <migration> or --count <n>/],
      [
        ['down', '--database-url', UNREACHABLE, '--count', '1', '--phase', 'expand'],
        /--phase only applies to up/,
      ],
      [
        ['up', '--database-url', UNREACHABLE, '--phase', 'expand,shrink'],
        /--phase must be expand or contract; got 'shrink'/,
      ],
      [
        ['up', '--database-url', UNREACHABLE, '--lock-timeout', 'soon'],
        /--lock-timeout must be a duration like 500ms/,
      ],
      [['status', '--database-url', UNREACHABLE, '--count', '1'], /status takes no --count/],
      [['up', '--database-url', UNREACHABLE, '--force'], /Unknown option '--force'/],
    ])('fails for %j', async (argv, message) => {
      await expect(run(argv)).resolves.toBe(ExitCode.USAGE);
      expect(stderr()).toMatch(message);
      expect(stderr()).not.toContain('s3cr3t-pw');
    });
  });

  test('fails with exit 1 and a readable error when the migration files are invalid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shipshape-cli-'));
    try {
      writeFileSync(
        join(dir, '0001_no_header.sql'),
        '-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n',
      );
      await expect(run(['status', '--database-url', UNREACHABLE, '--migrations-dir', dir])).resolves.toBe(
        ExitCode.FAILED,
      );
      expect(stderr()).toContain("0001_no_header.sql: line 1 must be '-- phase: expand'");
      expect(stderr()).not.toContain('ECONNREFUSED'); // the files are checked before connecting
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('never prints the password, not even when the connection fails', async () => {
    await expect(run(['up', '--database-url', UNREACHABLE])).resolves.toBe(ExitCode.FAILED);
    expect(stderr()).toContain('ECONNREFUSED');
    expect(stderr()).toContain('postgres://operator:***@127.0.0.1:1/app');
    expect(stderr() + stdout()).not.toContain('s3cr3t-pw');
    expect(redactUrl(new URL(UNREACHABLE))).toBe('postgres://operator:***@127.0.0.1:1/app');
  });

  describe('against a database', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase('cli_migrate');
    });
    afterAll(() => db.drop());

    test('up --dry-run lists what would run and changes nothing', async () => {
      await expect(run(['up', '--dry-run', '--database-url', db.url])).resolves.toBe(ExitCode.OK);
      expect(stdout()).toMatch(/Would apply 5 migration\(s\) \(dry run, nothing changed\)/);
      const history = await db.pool.query("SELECT to_regclass('public.shipshape_migrations') AS t");
      expect(history.rows[0].t).toBeNull();
    });

    test('up applies the migrations (URL from DATABASE_URL) and prints them without the password', async () => {
      process.env.DATABASE_URL = db.url;
      await expect(run(['up', '--phase', 'expand', '--lock-timeout', '2s'])).resolves.toBe(ExitCode.OK);
      expect(stdout()).toMatch(/Applied 5 migration\(s\):\n\s+0001_roles\s+expand\s+\d+ ms/);
      expect(stdout()).toContain('postgres://shipshape:***@');
      expect(stdout()).not.toContain(':shipshape@');
    });

    test('status --json reports every migration as applied', async () => {
      await expect(run(['status', '--json', '--database-url', db.url])).resolves.toBe(ExitCode.OK);
      const status = JSON.parse(stdout()) as { migrations: Array<{ name: string; state: string }> };
      expect(status.migrations.map((m) => `${m.name}:${m.state}`)).toEqual([
        '0001_roles:applied',
        '0002_heartbeat:applied',
        '0003_accounts_and_notes:applied',
        '0004_outbox:applied',
        '0005_idempotency_keys:applied',
      ]);
    });

    test('down --to reverts what came after, as JSON', async () => {
      await expect(run(['down', '--to', '0001', '--json', '--database-url', db.url])).resolves.toBe(
        ExitCode.OK,
      );
      const result = JSON.parse(stdout()) as { applied: Array<{ name: string }> };
      expect(result.applied.map((s) => s.name)).toEqual([
        '0005_idempotency_keys',
        '0004_outbox',
        '0003_accounts_and_notes',
        '0002_heartbeat',
      ]);
    });

    test('a plan the database cannot satisfy is a usage error', async () => {
      await expect(run(['down', '--to', '0003', '--database-url', db.url])).resolves.toBe(ExitCode.USAGE);
      expect(stderr()).toContain('0003_accounts_and_notes is not applied');
    });
  });
});
