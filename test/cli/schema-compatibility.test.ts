import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkSchemaCompatibility,
  type MigrationHeader,
  parseMigrationHeader,
  readMigrationHeaders,
  schemaNumber,
} from '../../lib/cli/schema-compatibility';

const expand = (number: number): MigrationHeader => ({
  name: `${String(number).padStart(4, '0')}_x`,
  number,
  phase: 'expand',
});
const contract = (number: number, of: number): MigrationHeader => ({
  name: `${String(number).padStart(4, '0')}_drop`,
  number,
  phase: 'contract',
  contracts: of,
});

describe('parseMigrationHeader', () => {
  test('reads an expand migration', () => {
    expect(parseMigrationHeader('0002_heartbeat.sql', '-- phase: expand\n-- Up Migration\n')).toEqual({
      name: '0002_heartbeat',
      number: 2,
      phase: 'expand',
    });
  });

  test('reads a contract migration and the expand it completes', () => {
    expect(
      parseMigrationHeader('0007_drop_title.sql', '-- phase: contract\r\n-- contracts: 0005\r\n'),
    ).toMatchObject({
      phase: 'contract',
      contracts: 5,
    });
  });

  test('fails when line 1 has no phase', () => {
    expect(() => parseMigrationHeader('0002_x.sql', '-- Up Migration\n')).toThrow(
      "0002_x.sql: line 1 must be '-- phase: expand' or '-- phase: contract'",
    );
  });

  test('fails when a contract migration does not name its expand migration', () => {
    expect(() => parseMigrationHeader('0007_x.sql', '-- phase: contract\n-- Up Migration\n')).toThrow(
      "line 2 '-- contracts: NNNN'",
    );
  });
});

describe('readMigrationHeaders', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipshape-headers-'));
    writeFileSync(join(dir, '0002_b.sql'), '-- phase: contract\n-- contracts: 0001\n');
    writeFileSync(join(dir, '0001_a.sql'), '-- phase: expand\n');
    writeFileSync(join(dir, 'README.md'), '# not a migration');
    writeFileSync(join(dir, '.gitkeep'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('reads NNNN_name.sql files in order and ignores everything else', () => {
    expect(readMigrationHeaders(dir).map((m) => [m.name, m.phase])).toEqual([
      ['0001_a', 'expand'],
      ['0002_b', 'contract'],
    ]);
  });

  test('a missing folder means no migrations', () => {
    expect(readMigrationHeaders(join(dir, 'absent'))).toEqual([]);
  });
});

test('schemaNumber reads the migration number of SHIPSHAPE_SCHEMA_VERSION', () => {
  expect(schemaNumber('0003_accounts_and_notes')).toBe(3);
  expect(schemaNumber('0012')).toBe(12);
  expect(schemaNumber('latest')).toBeUndefined();
  expect(schemaNumber(undefined)).toBeUndefined();
});

describe('checkSchemaCompatibility', () => {
  const migrations = [expand(1), expand(2), expand(3), contract(4, 2), expand(5)];
  const at = (version: string, schema?: string) => ({ version, schema });

  test('expand-only history is always compatible', () => {
    expect(
      checkSchemaCompatibility(at('9', '0003_x'), at('8', '0001_x'), [expand(1), expand(2), expand(3)]),
    ).toEqual({
      compatible: true,
    });
  });

  test('refuses a target older than a contract migration the live schema includes', () => {
    const verdict = checkSchemaCompatibility(at('9', '0004_drop'), at('8', '0003_x'), migrations);
    expect(verdict.compatible).toBe(false);
    expect(!verdict.compatible && verdict.reason).toContain('includes the contract migration 0004_drop');
  });

  test('allows a target built with the contract migration', () => {
    expect(checkSchemaCompatibility(at('9', '0005_x'), at('8', '0004_drop'), migrations).compatible).toBe(
      true,
    );
  });

  test('ignores a contract migration the live schema does not include yet', () => {
    expect(checkSchemaCompatibility(at('9', '0003_x'), at('8', '0001_x'), migrations).compatible).toBe(true);
  });

  test('refuses a target without a schema version once any contract migration is live', () => {
    const verdict = checkSchemaCompatibility(at('9', '0005_x'), at('8'), migrations);
    expect(!verdict.compatible && verdict.reason).toContain('does not declare SHIPSHAPE_SCHEMA_VERSION');
  });

  test('treats an unknown live schema as including every contract migration', () => {
    expect(checkSchemaCompatibility(at('9'), at('8', '0003_x'), migrations).compatible).toBe(false);
  });
});
