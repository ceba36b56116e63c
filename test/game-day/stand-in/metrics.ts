/**
 * CloudWatch metric storage of the stand-in: datapoints keyed by namespace, metric name and the
 * exact dimension set they were published with. CloudWatch treats every combination of
 * dimensions as a separate metric, so a query matches only datapoints published with exactly
 * the same set (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension).
 * Datapoints are stored at 1-minute resolution, the standard resolution of AWS service metrics
 * and EMF (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Resolution_definition).
 * Sums, counts and percentile ranks over long periods (a day of 1-minute buckets, evaluated every
 * minute) come from prefix sums, so a simulated day of alarm evaluation stays cheap.
 */

export type Dimensions = Readonly<Record<string, string>>;

interface Bucket {
  readonly minute: number;
  sum: number;
  count: number;
  min: number;
  max: number;
  /** Value → how many samples had it (service metrics repeat a handful of values). */
  readonly values: Map<number, number>;
}

interface Series {
  readonly buckets: Bucket[];
  /** Per additive quantity (`sum`, `count`, `le:<x>`): prefix[i] = total over buckets[0..i). */
  readonly prefixes: Map<string, number[]>;
  /** Prefixes are valid for buckets before this index. */
  dirtyFrom: number;
}

const MINUTE = 60_000;

export function metricKey(namespace: string, name: string, dimensions: Dimensions): string {
  const keys = Object.keys(dimensions);
  if (keys.length > 1) keys.sort();
  let key = `${namespace}|${name}|`;
  for (const k of keys) key += `${k}=${dimensions[k]},`;
  return key;
}

export class MetricStore {
  private readonly series = new Map<string, Series>();

  public put(
    namespace: string,
    name: string,
    dimensions: Dimensions,
    timestamp: number,
    value: number,
  ): void {
    if (!Number.isFinite(value))
      throw new Error(`metric ${namespace}/${name}: value ${value} is not a number`);
    const key = metricKey(namespace, name, dimensions);
    let series = this.series.get(key);
    if (!series) this.series.set(key, (series = { buckets: [], prefixes: new Map(), dirtyFrom: 0 }));
    const minute = Math.floor(timestamp / MINUTE);
    const { buckets } = series;
    let index = buckets.length - 1;
    while (index >= 0 && buckets[index].minute > minute) index--;
    if (index < 0 || buckets[index].minute !== minute) {
      index += 1;
      buckets.splice(index, 0, {
        minute,
        sum: 0,
        count: 0,
        min: Infinity,
        max: -Infinity,
        values: new Map(),
      });
    }
    const bucket = buckets[index];
    bucket.sum += value;
    bucket.count += 1;
    bucket.min = Math.min(bucket.min, value);
    bucket.max = Math.max(bucket.max, value);
    bucket.values.set(value, (bucket.values.get(value) ?? 0) + 1);
    series.dirtyFrom = Math.min(series.dirtyFrom, index);
  }

  /**
   * One statistic of one metric over [start, end), or undefined when no datapoint falls in it
   * (CloudWatch returns no datapoint for a period without data). Statistics per
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html.
   */
  public statistic(
    namespace: string,
    name: string,
    dimensions: Dimensions,
    stat: string,
    start: number,
    end: number,
  ): number | undefined {
    const series = this.series.get(metricKey(namespace, name, dimensions));
    if (!series) return undefined;
    const lo = lowerBound(series.buckets, Math.ceil(start / MINUTE));
    const hi = lowerBound(series.buckets, Math.ceil(end / MINUTE));
    if (hi <= lo) return undefined;
    const total = (quantity: string) => {
      const prefix = this.prefix(series, quantity);
      return prefix[hi] - prefix[lo];
    };
    const count = total('count');
    if (count === 0) return undefined;
    switch (stat) {
      case 'Sum':
        return total('sum');
      case 'SampleCount':
        return count;
      case 'Average':
        return total('sum') / count;
    }
    // PR(n:m): the percentage of samples with n < value <= m; either bound may be left out.
    const rank = /^PR\((\d+(?:\.\d+)?)?:(\d+(?:\.\d+)?)?\)$/.exec(stat);
    if (rank) {
      const atOrBelow = (bound: string | undefined, none: number) =>
        bound === undefined ? none : total(`le:${bound}`);
      return (100 * (atOrBelow(rank[2], count) - atOrBelow(rank[1], 0))) / count;
    }
    const window = series.buckets.slice(lo, hi);
    if (stat === 'Minimum') return Math.min(...window.map((b) => b.min));
    if (stat === 'Maximum') return Math.max(...window.map((b) => b.max));
    const percentile = /^p(\d+(\.\d+)?)$/.exec(stat);
    if (percentile) {
      // Nearest rank: the smallest value with at least p% of the samples at or below it.
      const counts = new Map<number, number>();
      for (const b of window) for (const [v, n] of b.values) counts.set(v, (counts.get(v) ?? 0) + n);
      const position = Math.max(1, Math.ceil((Number(percentile[1]) / 100) * count));
      let seen = 0;
      for (const v of [...counts.keys()].sort((x, y) => x - y)) {
        seen += counts.get(v)!;
        if (seen >= position) return v;
      }
    }
    throw new Error(`the stand-in does not compute the statistic '${stat}'`);
  }

  /** Sum of a metric over [start, end) (0 when none): for the scenarios' own assertions. */
  public sum(namespace: string, name: string, dimensions: Dimensions, start: number, end: number): number {
    return this.statistic(namespace, name, dimensions, 'Sum', start, end) ?? 0;
  }

  private prefix(series: Series, quantity: string): number[] {
    const { buckets } = series;
    if (series.dirtyFrom < buckets.length) {
      for (const [q, prefix] of series.prefixes) extend(prefix, buckets, series.dirtyFrom, q);
      series.dirtyFrom = buckets.length;
    }
    let prefix = series.prefixes.get(quantity);
    if (!prefix) {
      prefix = [0];
      extend(prefix, buckets, 0, quantity);
      series.prefixes.set(quantity, prefix);
    }
    return prefix;
  }
}

function extend(prefix: number[], buckets: Bucket[], from: number, quantity: string): void {
  prefix.length = from + 1;
  const bound = quantity.startsWith('le:') ? Number(quantity.slice(3)) : undefined;
  for (let i = from; i < buckets.length; i++) {
    const b = buckets[i];
    let amount = quantity === 'sum' ? b.sum : b.count;
    if (bound !== undefined) {
      amount = 0;
      for (const [v, n] of b.values) if (v <= bound) amount += n;
    }
    prefix.push(prefix[i] + amount);
  }
}

/** Index of the first bucket at or after `minute`. */
function lowerBound(buckets: Bucket[], minute: number): number {
  let lo = 0;
  let hi = buckets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (buckets[mid].minute < minute) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
