import {
  canaryArithmetic,
  DATAPOINTS_TO_ALARM,
  EVALUATION_WINDOW_MINUTES,
  MINIMUM_CANARY_INTERVAL_MINUTES,
} from '../../lib/deployment/canary-arithmetic';

/** Production's settings: 10% for 5 minutes at 300 requests a minute, 5% threshold, minimum 10. */
const production = {
  percentage: 10,
  requestsPerMinute: 300,
  intervalMinutes: 5,
  errorRateThresholdPercent: 5,
  minimumRequestsPerMinute: 10,
};

describe('canary arithmetic', () => {
  test('a version failing 20% of requests trips the alarm inside a 10%/5-minute canary', () => {
    const math = canaryArithmetic({ ...production, failingPercent: 20 });
    expect(math).toEqual({
      canaryRequestsPerMinute: 30,
      failuresPerMinute: 6,
      reachesMinimum: true,
      breaches: true,
      minutesToAlarm: 3,
      tripsInsideInterval: true,
    });
  });

  test('a version failing at the threshold or below never trips it (strictly greater breaches)', () => {
    expect(canaryArithmetic({ ...production, failingPercent: 5 })).toMatchObject({
      breaches: false,
      minutesToAlarm: undefined,
      tripsInsideInterval: false,
    });
  });

  test('a canary below the minimum request rate never trips, however bad the version', () => {
    expect(canaryArithmetic({ ...production, requestsPerMinute: 90, failingPercent: 100 })).toMatchObject({
      canaryRequestsPerMinute: 9,
      reachesMinimum: false,
      tripsInsideInterval: false,
    });
  });

  test('a canary shorter than the alarm needs ends before the alarm fires', () => {
    const math = canaryArithmetic({ ...production, intervalMinutes: 2, failingPercent: 50 });
    expect(math.minutesToAlarm).toBe(3);
    expect(math.tripsInsideInterval).toBe(false);
    // The synth rule (interval >= MINIMUM_CANARY_INTERVAL_MINUTES) is exactly what makes a breaching canary trip.
    expect(math.minutesToAlarm).toBeLessThan(MINIMUM_CANARY_INTERVAL_MINUTES);
    expect(DATAPOINTS_TO_ALARM).toBeLessThan(EVALUATION_WINDOW_MINUTES);
    expect(
      canaryArithmetic({
        ...production,
        intervalMinutes: MINIMUM_CANARY_INTERVAL_MINUTES,
        failingPercent: 50,
      }).tripsInsideInterval,
    ).toBe(true);
  });

  test('an alarm due in the very minute the interval ends does not count: that is a race', () => {
    const math = canaryArithmetic({
      ...production,
      percentage: 50,
      requestsPerMinute: 30,
      intervalMinutes: 3,
      failingPercent: 20,
    });
    expect(math).toMatchObject({
      canaryRequestsPerMinute: 15,
      minutesToAlarm: 3,
      tripsInsideInterval: false,
    });
  });

  test("staging's 50% for 4 minutes at 30 requests a minute trips a minute before the shift", () => {
    const math = canaryArithmetic({
      ...production,
      percentage: 50,
      requestsPerMinute: 30,
      intervalMinutes: 4,
      failingPercent: 20,
    });
    expect(math).toMatchObject({ canaryRequestsPerMinute: 15, minutesToAlarm: 3, tripsInsideInterval: true });
  });
});
