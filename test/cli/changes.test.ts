import { ChangeLog } from '../../lib/cli/changes';
import { defaultDeps } from '../../lib/cli/command';
import { ExitCode } from '../../lib/cli/exit-codes';

describe('ChangeLog', () => {
  test('reports nothing before the first change', () => {
    const log = new ChangeLog();
    expect(log.changed).toBe(false);
    expect(log.report()).toEqual([]);
  });

  test('lists each change, what still runs with its commands, and what finished', () => {
    const log = new ChangeLog();
    log.record('created deployment d-1', 'd-1', { what: 'deployment d-1', commands: ['Check: x'] });
    expect(log.report()).toEqual([
      'Changed:',
      '  - created deployment d-1',
      'Still running (it carries on without this command):',
      '  - deployment d-1',
      '      Check: x',
    ]);
    log.finished('d-1', 'succeeded');
    expect(log.report()).toEqual([
      'Changed:',
      '  - created deployment d-1 (succeeded)',
      'Still running: nothing.',
    ]);
  });

  test('a request in flight counts as a change until it settles', async () => {
    const log = new ChangeLog();
    let seen: string[] = [];
    await log.during('CreateDeployment live 42 → 41', async () => {
      seen = log.report();
    });
    expect(seen).toContain('  - maybe: CreateDeployment live 42 → 41 (sent; its answer had not come back)');
    expect(log.changed).toBe(false);
    await expect(
      log.during('StopDeployment d-1', async () => {
        throw new Error('AccessDenied');
      }),
    ).rejects.toThrow('AccessDenied');
    expect(log.changed).toBe(false);
  });
});

describe('the real Ctrl-C handler', () => {
  let exit: jest.SpyInstance;
  let stderr: jest.SpyInstance;
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  test('the first Ctrl-C aborts the signal; a second exits 130 when nothing changed', () => {
    const deps = defaultDeps();
    try {
      process.emit('SIGINT');
      expect(deps.signal.aborted).toBe(true);
      expect(exit).not.toHaveBeenCalled();
      process.emit('SIGINT');
      expect(exit).toHaveBeenCalledWith(ExitCode.INTERRUPTED);
      expect(String(stderr.mock.calls[0][0])).toContain('nothing was changed');
    } finally {
      deps.dispose();
    }
  });

  test('a second Ctrl-C after a change exits 10 and prints what changed', () => {
    const deps = defaultDeps();
    try {
      deps.changes!.record('created deployment d-9', 'd-9', { what: 'deployment d-9', commands: [] });
      process.emit('SIGINT');
      process.emit('SIGINT');
      expect(exit).toHaveBeenCalledWith(ExitCode.INTERRUPTED_AFTER_CHANGE);
      expect(String(stderr.mock.calls[0][0])).toContain('  - created deployment d-9');
    } finally {
      deps.dispose();
    }
  });
});
