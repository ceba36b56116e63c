import { ExitCode, main } from '../../lib/cli/main';

describe('shipshape CLI entry', () => {
  let out: jest.SpyInstance;
  let err: jest.SpyInstance;
  beforeEach(() => {
    out = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  test('--help lists every command', async () => {
    await expect(main(['--help'])).resolves.toBe(ExitCode.OK);
    const text = out.mock.calls.join('\n');
    for (const command of ['status', 'rollback', 'drill', 'migrate', 'audit'])
      expect(text).toContain(`  ${command}`);
  });

  test('--version prints the package version', async () => {
    await expect(main(['--version'])).resolves.toBe(ExitCode.OK);
    expect(out).toHaveBeenCalledWith(expect.stringMatching(/^\d+\.\d+\.\d+$/));
  });

  test('status, rollback and drill are available; each answers --help without calling AWS', async () => {
    await main(['--help']);
    const text = out.mock.calls.join('\n');
    expect(text).not.toMatch(/ (status|rollback|drill) .*coming in a later release/);
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    for (const command of ['status', 'rollback', 'drill']) {
      await expect(main([command, '--help'])).resolves.toBe(ExitCode.OK);
    }
    write.mockRestore();
    expect(written.join('')).toMatch(
      /shipshape status --env[\s\S]*shipshape rollback --env[\s\S]*shipshape drill --env/,
    );
  });

  test('exit codes are distinct', async () => {
    const values = Object.values(ExitCode);
    expect(new Set(values).size).toBe(values.length);
  });

  test('an unknown command is a usage error that shows the help', async () => {
    await expect(main(['deploy-everything'])).resolves.toBe(ExitCode.USAGE);
    expect(err.mock.calls[0][0]).toContain("unknown command 'deploy-everything'");
  });
});
