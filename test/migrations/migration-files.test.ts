import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defaultMigrationsDir,
  findMigration,
  loadMigrations,
  MigrationFileError,
  parseMigration,
} from '../../lib/migrations';

const EXPAND = (up = 'CREATE TABLE t (id int);', down = 'DROP TABLE t;') =>
  `-- phase: expand\n-- Up Migration\n${up}\n-- Down Migration\n${down}\n`;
const CONTRACT = (target: string) =>
  `-- phase: contract\n-- contracts: ${target}\n-- Up Migration\nALTER TABLE t DROP COLUMN c;\n-- Down Migration\nALTER TABLE t ADD COLUMN c int;\n`;

function problemsOf(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'shipshape-migrations-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    loadMigrations(dir);
    return [];
  } catch (error) {
    if (!(error instanceof MigrationFileError)) throw error;
    return [...error.problems];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the repository migrations', () => {
  const migrations = loadMigrations();

  test('are 0001 roles, 0002 heartbeat, 0003 accounts + notes, 0004 outbox, 0005 idempotency keys, 0006 outbox parking, 0007 function roles, 0008 API role grants, all expand', () => {
    expect(migrations.map((m) => [m.name, m.phase, m.contracts])).toEqual([
      ['0001_roles', 'expand', undefined],
      ['0002_heartbeat', 'expand', undefined],
      ['0003_accounts_and_notes', 'expand', undefined],
      ['0004_outbox', 'expand', undefined],
      ['0005_idempotency_keys', 'expand', undefined],
      ['0006_outbox_parking', 'expand', undefined],
      ['0007_function_roles', 'expand', undefined],
      ['0008_api_role_grants', 'expand', undefined],
    ]);
  });

  test('split into up and down sections without the markers', () => {
    const heartbeat = migrations[1];
    expect(heartbeat.up).toContain('CREATE TABLE public.heartbeat');
    expect(heartbeat.up).not.toMatch(/Down Migration|DROP TABLE/);
    expect(heartbeat.down).toContain('DROP TABLE public.heartbeat');
    expect(heartbeat.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  test('are found through SHIPSHAPE_MIGRATIONS_DIR when it is set (as in a Lambda bundle)', () => {
    const previous = process.env.SHIPSHAPE_MIGRATIONS_DIR;
    process.env.SHIPSHAPE_MIGRATIONS_DIR = join(__dirname, 'fixtures', 'phased');
    try {
      expect(defaultMigrationsDir()).toBe(join(__dirname, 'fixtures', 'phased'));
    } finally {
      if (previous === undefined) delete process.env.SHIPSHAPE_MIGRATIONS_DIR;
      else process.env.SHIPSHAPE_MIGRATIONS_DIR = previous;
    }
  });

  test('can be referred to by name or number', () => {
    expect(findMigration(migrations, '0002')?.name).toBe('0002_heartbeat');
    expect(findMigration(migrations, '2')?.name).toBe('0002_heartbeat');
    expect(findMigration(migrations, '0003_accounts_and_notes.sql')?.name).toBe('0003_accounts_and_notes');
    expect(findMigration(migrations, 'nope')).toBeUndefined();
  });
});

describe('loadMigrations', () => {
  test('exposes the phase and the expand migration a contract completes', () => {
    const migrations = loadMigrations(join(__dirname, 'fixtures', 'phased'));
    expect(migrations.map((m) => [m.name, m.phase, m.contracts])).toEqual([
      ['0001_add_display_name', 'expand', undefined],
      ['0002_drop_name', 'contract', '0001_add_display_name'],
      ['0003_add_email', 'expand', undefined],
    ]);
  });

  test('fails when the phase header is missing', () => {
    expect(
      problemsOf({ '0001_a.sql': '-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n' }),
    ).toEqual([
      expect.stringContaining("0001_a.sql: line 1 must be '-- phase: expand' or '-- phase: contract'"),
    ]);
  });

  test('fails when the phase is unknown', () => {
    expect(problemsOf({ '0001_a.sql': EXPAND().replace('expand', 'migrate') })).toEqual([
      expect.stringContaining("unknown phase 'migrate'"),
    ]);
  });

  test('fails when a contract migration does not say what it contracts', () => {
    expect(
      problemsOf({ '0001_a.sql': EXPAND(), '0002_b.sql': CONTRACT('0001').replace(/-- contracts.*\n/, '') }),
    ).toEqual([
      expect.stringContaining("0002_b.sql: a contract migration needs line 2 '-- contracts: NNNN'"),
    ]);
  });

  test('fails when an expand migration claims to contract something', () => {
    expect(problemsOf({ '0001_a.sql': EXPAND().replace('\n', '\n-- contracts: 0001\n') })).toEqual([
      expect.stringContaining("'-- contracts:' is only allowed on contract migrations"),
    ]);
  });

  test('fails when a contract names a migration that does not exist', () => {
    expect(problemsOf({ '0001_a.sql': EXPAND(), '0002_b.sql': CONTRACT('0009') })).toEqual([
      expect.stringContaining("0002_b: contracts '0009', which is not a migration"),
    ]);
  });

  test('fails when a contract names a later migration', () => {
    expect(problemsOf({ '0001_a.sql': CONTRACT('0002'), '0002_b.sql': EXPAND() })).toEqual([
      expect.stringContaining('0001_a: contracts 0002_b, which is not an earlier migration'),
    ]);
  });

  test('fails when a contract names another contract', () => {
    expect(
      problemsOf({ '0001_a.sql': EXPAND(), '0002_b.sql': CONTRACT('0001'), '0003_c.sql': CONTRACT('0002') }),
    ).toEqual([
      expect.stringContaining('0003_c: contracts 0002_b, which is a contract migration, not an expand'),
    ]);
  });

  test('fails when the up or the down section is missing or empty', () => {
    expect(problemsOf({ '0001_a.sql': '-- phase: expand\n-- Up Migration\nSELECT 1;\n' })).toEqual([
      expect.stringContaining("missing '-- Down Migration' section"),
    ]);
    expect(problemsOf({ '0001_a.sql': EXPAND('-- nothing yet', 'DROP TABLE t;') })).toEqual([
      expect.stringContaining('the Up Migration section is empty'),
    ]);
    expect(problemsOf({ '0001_a.sql': EXPAND('SELECT 1;', '\n-- irreversible\n') })).toEqual([
      expect.stringContaining('the Down Migration section is empty'),
    ]);
  });

  test('fails when down comes before up', () => {
    expect(
      problemsOf({
        '0001_a.sql': '-- phase: expand\n-- Down Migration\nSELECT 1;\n-- Up Migration\nSELECT 1;\n',
      }),
    ).toEqual([expect.stringContaining("'-- Up Migration' must come before '-- Down Migration'")]);
  });

  test('fails when a migration manages its own transaction', () => {
    expect(problemsOf({ '0001_a.sql': EXPAND('BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;') })).toEqual([
      expect.stringContaining('must not BEGIN/COMMIT/ROLLBACK'),
    ]);
  });

  test('accepts BEGIN/END blocks inside DO bodies', () => {
    const up = 'DO $$\nBEGIN\n  PERFORM 1;\nEND;\n$$;';
    expect(problemsOf({ '0001_a.sql': EXPAND(up) })).toEqual([]);
  });

  test('fails when a file name does not follow NNNN_snake_case_name.sql', () => {
    expect(problemsOf({ '1_AddThing.sql': EXPAND() })).toEqual([
      expect.stringContaining('1_AddThing.sql: file name must be NNNN_snake_case_name.sql'),
    ]);
  });

  test('fails when two migrations share a number', () => {
    expect(problemsOf({ '0001_a.sql': EXPAND(), '0001_b.sql': EXPAND() })).toEqual([
      expect.stringContaining('0001_b: number 0001 is already used by 0001_a'),
    ]);
  });

  test('fails when the directory is missing or empty, and lists every problem at once', () => {
    expect(problemsOf({})).toEqual([expect.stringContaining('no *.sql migration files')]);
    expect(() => loadMigrations('/nonexistent/migrations')).toThrow(/directory does not exist/);
    expect(problemsOf({ '0001_a.sql': 'SELECT 1;', '0002_b.sql': CONTRACT('0007') })).toHaveLength(4);
  });

  test('parseMigration reads CRLF files', () => {
    const parsed = parseMigration('0001_a.sql', EXPAND().replace(/\n/g, '\r\n'));
    expect(Array.isArray(parsed) ? parsed : parsed.phase).toBe('expand');
  });
});
