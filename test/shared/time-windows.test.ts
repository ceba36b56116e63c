import { dailyOverlapsWeekly, parseDailyWindow, parseWeeklyWindow } from '../../lib/shared/time-windows';

describe('time windows', () => {
  test('parses a daily window, also across midnight', () => {
    expect(parseDailyWindow('01:00-02:30')).toEqual({ start: 60, length: 90, period: 1440 });
    expect(parseDailyWindow('23:30-00:30')).toEqual({ start: 1410, length: 60, period: 1440 });
  });

  test('parses a weekly window, also across the end of the week, case-insensitively', () => {
    expect(parseWeeklyWindow('Mon:03:00-mon:04:00')).toEqual({
      start: 1440 + 180,
      length: 60,
      period: 10080,
    });
    expect(parseWeeklyWindow('sat:23:30-sun:00:30')).toEqual({
      start: 6 * 1440 + 1410,
      length: 60,
      period: 10080,
    });
  });

  test.each(['1:00-2:00', '24:00-01:00', '01:00-01:00', '01:00', 'xyz:01:00-xyz:02:00'])(
    'rejects %s',
    (w) => {
      expect(parseDailyWindow(w) ?? parseWeeklyWindow(w)).toBeUndefined();
    },
  );

  test.each([
    ['01:00-02:00', 'sun:02:00-sun:03:00', false],
    ['01:00-02:00', 'sun:01:59-sun:03:00', true],
    ['03:00-04:00', 'wed:02:30-wed:03:30', true],
    ['23:30-00:30', 'sun:00:00-sun:01:00', true],
    ['23:30-00:30', 'sat:23:45-sun:00:15', true],
    ['10:00-11:00', 'sun:11:00-sun:12:00', false],
    ['10:00-11:00', 'sun:12:00-mon:09:59', false],
    ['10:00-11:00', 'sun:12:00-mon:10:01', true],
  ])('daily %s vs weekly %s overlap: %s', (daily, weekly, overlaps) => {
    expect(dailyOverlapsWeekly(parseDailyWindow(daily)!, parseWeeklyWindow(weekly)!)).toBe(overlaps);
  });
});
