import {
  checkSchemaCompatibility,
  formatSchemaContracts,
  parseSchemaContracts,
  schemaNumber,
  type VersionDeclaration,
} from '../../lib/cli/schema-compatibility';

describe('SHIPSHAPE_SCHEMA_CONTRACTS', () => {
  test('formats each contract migration with the expand it completes, or none', () => {
    expect(formatSchemaContracts([])).toBe('none');
    expect(
      formatSchemaContracts([
        { number: 5, contracts: 4 },
        { number: 7, contracts: 6 },
      ]),
    ).toBe('0005:0004,0007:0006');
  });

  test('parses what it formats', () => {
    expect(parseSchemaContracts('none')).toEqual([]);
    expect(parseSchemaContracts(' 0005:0004, 0007:0006 ')).toEqual([
      { number: 5, contracts: 4 },
      { number: 7, contracts: 6 },
    ]);
  });

  test.each([[undefined], [''], ['0005'], ['5:4'], ['0005:0004;0007:0006'], ['0004:0005'], ['garbage']])(
    'treats %j as undeclared (undefined)',
    (value) => {
      expect(parseSchemaContracts(value)).toBeUndefined();
    },
  );
});

test('schemaNumber reads the migration number of SHIPSHAPE_SCHEMA_VERSION', () => {
  expect(schemaNumber('0003_accounts_and_notes')).toBe(3);
  expect(schemaNumber('0012')).toBe(12);
  expect(schemaNumber('latest')).toBeUndefined();
  expect(schemaNumber(undefined)).toBeUndefined();
});

describe('checkSchemaCompatibility (deployed declarations only)', () => {
  const at = (version: string, schema?: string, contracts?: string): VersionDeclaration => ({
    version,
    schema,
    contracts,
  });

  test('a live build without contract migrations allows any target, even an undeclared one', () => {
    expect(checkSchemaCompatibility(at('9', '0004_x', 'none'), at('8')).verdict).toBe('compatible');
  });

  test('refuses a target built before a contract migration the live build includes', () => {
    const verdict = checkSchemaCompatibility(at('9', '0005_drop', '0005:0004'), at('8', '0004_x', 'none'));
    expect(verdict).toEqual({
      verdict: 'incompatible',
      reason: expect.stringContaining(
        'the live version 9 (schema 0005_drop) includes the contract migration 0005 (completes 0004)',
      ) as string,
    });
  });

  test('allows a target built with every contract migration of the live build', () => {
    const verdict = checkSchemaCompatibility(
      at('9', '0007_more', '0005:0004,0007:0006'),
      at('8', '0007_more', '0005:0004,0007:0006'),
    );
    expect(verdict.verdict).toBe('compatible');
  });

  test('names only the contract migrations the target lacks', () => {
    const verdict = checkSchemaCompatibility(at('9', '0007_x', '0005:0004,0007:0006'), at('8', '0005_x'));
    expect(verdict.verdict === 'incompatible' && verdict.reason).toContain('migration 0007 (completes 0006)');
    expect(verdict.verdict === 'incompatible' && verdict.reason).not.toContain('0005 (completes');
  });

  test('fails closed when the live version does not declare its contract migrations', () => {
    const verdict = checkSchemaCompatibility(at('9', '0005_x'), at('8', '0004_x'));
    expect(verdict).toEqual({
      verdict: 'unknown',
      reason: expect.stringContaining(
        'the live version 9 does not declare SHIPSHAPE_SCHEMA_CONTRACTS',
      ) as string,
    });
  });

  test('fails closed when the declaration is garbled', () => {
    const verdict = checkSchemaCompatibility(at('9', '0005_x', '5->4'), at('8', '0004_x'));
    expect(verdict.verdict === 'unknown' && verdict.reason).toContain("declares an unreadable '5->4'");
  });

  test('fails closed when the target has no schema version and the live build has contracts', () => {
    const verdict = checkSchemaCompatibility(at('9', '0005_x', '0005:0004'), at('8'));
    expect(verdict.verdict === 'unknown' && verdict.reason).toContain(
      'version 8 does not declare SHIPSHAPE_SCHEMA_VERSION',
    );
  });

  test('fails closed when a configuration could not be read', () => {
    const live = { version: '9', readError: 'AccessDeniedException: not allowed' };
    expect(checkSchemaCompatibility(live, at('8', '0004_x')).verdict).toBe('unknown');
    const target = { version: '8', readError: 'ThrottlingException: slow down' };
    const verdict = checkSchemaCompatibility(at('9', '0005_x', '0005:0004'), target);
    expect(verdict.verdict === 'unknown' && verdict.reason).toContain('ThrottlingException');
  });
});
