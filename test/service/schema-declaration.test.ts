import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSchemaContracts } from '../../lib/cli/schema-compatibility';
import { schemaDeclaration } from '../../lib/service/schema-declaration';

const UP_DOWN = '-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n';

describe('schemaDeclaration: what each published version declares', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipshape-declaration-'));
    writeFileSync(join(dir, '0001_roles.sql'), `-- phase: expand\n${UP_DOWN}`);
    writeFileSync(join(dir, '0002_add_slug.sql'), `-- phase: expand\n${UP_DOWN}`);
    writeFileSync(join(dir, '0003_drop_title.sql'), `-- phase: contract\n-- contracts: 0002\n${UP_DOWN}`);
    writeFileSync(join(dir, '0004_add_tags.sql'), `-- phase: expand\n${UP_DOWN}`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('names the newest migration and every contract migration with the expand it completes', () => {
    expect(schemaDeclaration(undefined, dir)).toEqual({
      SHIPSHAPE_SCHEMA_VERSION: '0004_add_tags',
      SHIPSHAPE_SCHEMA_CONTRACTS: '0003:0002',
    });
    expect(parseSchemaContracts('0003:0002')).toEqual([{ number: 3, contracts: 2 }]);
  });

  test('an explicit schemaVersion declares only the contract migrations up to it', () => {
    expect(schemaDeclaration('0002_add_slug', dir)).toEqual({
      SHIPSHAPE_SCHEMA_VERSION: '0002_add_slug',
      SHIPSHAPE_SCHEMA_CONTRACTS: 'none',
    });
  });

  test('the repository migrations declare a readable value', () => {
    const declared = schemaDeclaration(undefined, join(__dirname, '..', '..', 'migrations'));
    expect(parseSchemaContracts(declared.SHIPSHAPE_SCHEMA_CONTRACTS)).toBeDefined();
  });

  test('an explicit schemaVersion without readable migrations leaves the contracts out (the CLI fails closed)', () => {
    expect(schemaDeclaration('0007_x', join(dir, 'absent'))).toEqual({ SHIPSHAPE_SCHEMA_VERSION: '0007_x' });
  });

  test('fails without migrations and without schemaVersion', () => {
    expect(() => schemaDeclaration(undefined, join(dir, 'absent'))).toThrow(/directory does not exist/);
  });
});
