import { formatDuration, Output, table } from '../../lib/cli/output';

function buffers(isTTY: boolean) {
  const text = { out: '', err: '' };
  const stdout = { isTTY, write: (t: string) => (text.out += t) };
  const stderr = { write: (t: string) => (text.err += t) };
  return { text, stdout, stderr };
}

describe('Output', () => {
  test('off a terminal, progress prints a plain line only when it changes', () => {
    const { text, stdout, stderr } = buffers(false);
    const out = new Output({ stdout, stderr, json: false });
    out.progress('InProgress — 5s');
    out.progress('InProgress — 5s');
    out.progress('Succeeded — 10s');
    expect(text.out).toBe('  InProgress — 5s\n  Succeeded — 10s\n');
  });

  test('on a terminal, progress rewrites the line and the next step starts on a new line', () => {
    const { text, stdout, stderr } = buffers(true);
    const out = new Output({ stdout, stderr, json: false });
    out.progress('a');
    out.progress('b');
    out.step('done');
    expect(text.out).toBe('\r\x1b[2K  a\r\x1b[2K  b\n• done\n');
  });

  test('with --json, steps go to stderr and stdout holds only the result', () => {
    const { text, stdout, stderr } = buffers(true);
    const out = new Output({ stdout, stderr, json: true });
    out.step('reading');
    out.progress('waiting');
    out.result({ ok: true });
    expect(JSON.parse(text.out)).toEqual({ ok: true });
    expect(text.err).toBe('• reading\n  waiting\n');
  });
});

test('formatDuration', () => {
  expect(formatDuration(9.2)).toBe('9.2s');
  expect(formatDuration(75)).toBe('1m 15s');
  expect(formatDuration(3_700)).toBe('1h 1m');
});

test('table pads columns', () => {
  expect(
    table([
      ['A', 'BB'],
      ['ccc', 'd'],
    ]),
  ).toBe('A    BB\nccc  d');
});
