/**
 * Parsing and overlap checks for the UTC windows that RDS and ElastiCache take as strings:
 * a daily window `hh24:mi-hh24:mi` (backups, snapshots) and a weekly window
 * `ddd:hh24:mi-ddd:hh24:mi` (maintenance). Both services reject a window that is too short, and
 * a backup that overlaps maintenance is either rejected or silently delayed; checking at synth
 * time turns both into a clear error.
 */

const MINUTES_PER_DAY = 24 * 60;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const DAILY = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;
const WEEKLY =
  /^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):([0-5]\d)$/;

/** A window on a circle (a day or a week): start minute and length in minutes. */
export interface TimeWindow {
  /** Minutes since the start of the day (daily) or of Sunday 00:00 UTC (weekly). */
  readonly start: number;
  /** Length in minutes, 1 or more. */
  readonly length: number;
  /** Minutes in the period the window repeats over: a day or a week. */
  readonly period: number;
}

/** Parses `hh24:mi-hh24:mi` (UTC); a window may cross midnight. Returns undefined when malformed. */
export function parseDailyWindow(value: string): TimeWindow | undefined {
  const m = DAILY.exec(value);
  if (!m) return undefined;
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  const length = mod(end - start, MINUTES_PER_DAY);
  return length === 0 ? undefined : { start, length, period: MINUTES_PER_DAY };
}

/** Parses `ddd:hh24:mi-ddd:hh24:mi` (UTC); may cross the week boundary. Undefined when malformed. */
export function parseWeeklyWindow(value: string): TimeWindow | undefined {
  const m = WEEKLY.exec(value.toLowerCase());
  if (!m) return undefined;
  const at = (day: string, h: string, min: string) =>
    DAYS.indexOf(day as (typeof DAYS)[number]) * MINUTES_PER_DAY + Number(h) * 60 + Number(min);
  const start = at(m[1], m[2], m[3]);
  const length = mod(at(m[4], m[5], m[6]) - start, MINUTES_PER_WEEK);
  return length === 0 ? undefined : { start, length, period: MINUTES_PER_WEEK };
}

/** Whether a daily window, repeated every day, overlaps a weekly window. */
export function dailyOverlapsWeekly(daily: TimeWindow, weekly: TimeWindow): boolean {
  for (let day = 0; day < 7; day++) {
    const start = day * MINUTES_PER_DAY + daily.start;
    if (
      mod(weekly.start - start, MINUTES_PER_WEEK) < daily.length ||
      mod(start - weekly.start, MINUTES_PER_WEEK) < weekly.length
    ) {
      return true;
    }
  }
  return false;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
