/**
 * CloudWatch metric storage of the stand-in: datapoints keyed by namespace, metric name and the
 * exact dimension set they were published with. CloudWatch treats every combination of
 * dimensions as a separate metric, so a query matches only datapoints published with exactly
 * the same set (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension).
 * Datapoints are stored at 1-minute resolution, the standard resolution of AWS service metrics
 * and EMF (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Resolution_definition).
 */

export type Dimensions = Readonly<Record<string, string>>;

interface Bucket {
  sum: number;
  count: number;
  min: number;
  max: number;
  values: number[];
}

const MINUTE = 60_000;

export function metricKey(namespace: string, name: string, dimensions: Dimensions): string {
  const dims = Object.keys(dimensions)
    .sort()
    .map((k) => `${k}=${dimensions[k]}`)
    .join(',');
  return `${namespace}|${name}|${dims}`;
}

export class MetricStore {
  private readonly series = new Map<string, Map<number, Bucket>>();
  /** Every metric name published, for the test's own checks. */
  public readonly keys = new Set<string>();

  public put(namespace: string, name: string, dimensions: Dimensions, timestamp: number, value: number): void {
    if (!Number.isFinite(value)) throw new Error(`metric ${namespace}/${name}: value ${value} is not a number`);
    const key = metricKey(namespace, name, dimensions);
    this.keys.add(key);
    let buckets = this.series.get(key);
    if (!buckets) this.series.set(key, (buckets = new Map()));
    const minute = Math.floor(timestamp / MINUTE);
    let bucket = buckets.get(minute);
    if (!bucket) buckets.set(minute, (bucket = { sum: 0, count: 0, min: Infinity, max: -Infinity, values: [] }));
    bucket.sum += value;
    bucket.count += 1;
    bucket.min = Math.min(bucket.min, value);
    bucket.max = Math.max(bucket.max, value);
    bucket.values.push(value);
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
    const buckets = this.series.get(metricKey(namespace, name, dimensions));
    if (!buckets) return undefined;
    const from = Math.ceil(start / MINUTE);
    const to = Math.ceil(end / MINUTE);
    let sum = 0;
    let count = 0;
    let min = Infinity;
    let max = -Infinity;
    const needValues = /^(p\d|PR\()/.test(stat);
    const values: number[] = [];
    for (let minute = from; minute < to; minute++) {
      const b = buckets.get(minute);
      if (!b) continue;
      sum += b.sum;
      count += b.count;
      min = Math.min(min, b.min);
      max = Math.max(max, b.max);
      if (needValues) values.push(...b.values);
    }
    if (count === 0) return undefined;
    return computeStatistic(stat, { sum, count, min, max, values });
  }

  /** Sum of a metric over [start, end) (0 when none): for the test's own assertions. */
  public sum(namespace: string, name: string, dimensions: Dimensions, start: number, end: number): number {
    return this.statistic(namespace, name, dimensions, 'Sum', start, end) ?? 0;
  }
}

function computeStatistic(
  stat: string,
  b: { sum: number; count: number; min: number; max: number; values: number[] },
): number {
  switch (stat) {
    case 'Sum':
      return b.sum;
    case 'SampleCount':
      return b.count;
    case 'Average':
      return b.sum / b.count;
    case 'Minimum':
      return b.min;
    case 'Maximum':
      return b.max;
  }
  const percentile = /^p(\d+(\.\d+)?)$/.exec(stat);
  if (percentile) {
    // Nearest rank: the smallest value with at least p% of the samples at or below it.
    const sorted = [...b.values].sort((x, y) => x - y);
    const rank = Math.max(1, Math.ceil((Number(percentile[1]) / 100) * sorted.length));
    return sorted[rank - 1];
  }
  // PR(n:m): the percentage of samples with n < value <= m; either bound may be left out.
  const rank = /^PR\((\d+(?:\.\d+)?)?:(\d+(?:\.\d+)?)?\)$/.exec(stat);
  if (rank) {
    const low = rank[1] === undefined ? -Infinity : Number(rank[1]);
    const high = rank[2] === undefined ? Infinity : Number(rank[2]);
    return (100 * b.values.filter((v) => v > low && v <= high).length) / b.values.length;
  }
  throw new Error(`the stand-in does not compute the statistic '${stat}'`);
}
