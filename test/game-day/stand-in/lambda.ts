/**
 * Lambda of the stand-in: published versions (immutable code + configuration), aliases with
 * weighted routing, and invocation of the real handler code with the version's environment, a
 * Lambda-shaped context, and its stdout captured as the function's log stream. After each
 * invocation it publishes what Lambda and CloudWatch Logs would:
 * - AWS/Lambda `Invocations`, `Errors` (the invocation failed: the handler threw) and
 *   `Duration`, with the dimension sets Lambda emits: none, `FunctionName`,
 *   `FunctionName`+`Resource` (`<function>:<qualifier>` as invoked) and, for calls through an
 *   alias, `FunctionName`+`Resource`+`ExecutedVersion`
 *   (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html, "Using dimensions";
 *   https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html);
 * - every EMF document in the log output, as metrics with exactly the dimension sets the
 *   document declares
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * Alias routing: a weighted alias sends `AdditionalVersionWeights` of the calls to the other
 * version (https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html); the
 * stand-in spreads them evenly (deterministically) instead of at random.
 */
import type { MetricStore } from './metrics';
import { functionArn } from './template';

/** The code of one version: an HTTP or hook handler. */
export type Handler = (event: unknown, context: LambdaContext) => Promise<unknown>;

export interface LambdaContext {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly awsRequestId: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

export interface VersionConfig {
  readonly version: string;
  readonly environment: Record<string, string>;
  readonly timeoutMs: number;
  readonly handler: Handler;
  readonly description?: string;
}

interface FunctionState {
  readonly name: string;
  readonly versions: Map<string, VersionConfig>;
  latest: Omit<VersionConfig, 'version'>;
  readonly aliases: Map<string, { version: string; weights: Record<string, number>; calls: number }>;
}

export interface InvokeResult {
  readonly executedVersion: string;
  /** `Unhandled` when the handler threw (the invocation failed). */
  readonly functionError?: string;
  readonly payload: unknown;
  readonly logs: string[];
}

/** Thrown for an unknown function, version or alias, as Lambda's ResourceNotFoundException. */
export function notFound(message: string): Error {
  return Object.assign(new Error(message), {
    name: 'ResourceNotFoundException',
    $metadata: { httpStatusCode: 404 },
  });
}

export class LambdaService {
  private readonly functions = new Map<string, FunctionState>();
  private requests = 0;
  /** Every invocation: function, qualifier, executed version, time. */
  public readonly invocations: Array<{
    fn: string;
    qualifier?: string;
    version: string;
    time: number;
    error?: string;
  }> = [];

  constructor(
    private readonly store: MetricStore,
    private readonly now: () => number,
    private readonly baseEnvironment: Record<string, string>,
  ) {}

  public createFunction(name: string, latest: Omit<VersionConfig, 'version'>): void {
    this.functions.set(name, { name, versions: new Map(), latest, aliases: new Map() });
  }

  public updateFunctionCode(name: string, latest: Omit<VersionConfig, 'version'>): void {
    this.fn(name).latest = latest;
  }

  /** PublishVersion: freezes $LATEST as the next version number. */
  public publishVersion(name: string): string {
    const fn = this.fn(name);
    const version = String(fn.versions.size + 1);
    fn.versions.set(version, { ...fn.latest, version });
    return version;
  }

  public versions(name: string): string[] {
    return [...this.fn(name).versions.keys()];
  }

  public configuration(name: string, qualifier?: string): VersionConfig {
    const fn = this.fn(name);
    if (qualifier === undefined || qualifier === '$LATEST') return { ...fn.latest, version: '$LATEST' };
    const aliased = fn.aliases.get(qualifier);
    const config = fn.versions.get(aliased ? aliased.version : qualifier);
    if (!config) throw notFound(`Function not found: ${functionArn(name)}:${qualifier}`);
    return config;
  }

  public createAlias(name: string, alias: string, version: string): void {
    this.fn(name).aliases.set(alias, { version, weights: {}, calls: 0 });
  }

  public getAlias(name: string, alias: string): { version: string; weights: Record<string, number> } {
    const a = this.fn(name).aliases.get(alias);
    if (!a) throw notFound(`Alias not found: ${functionArn(name)}:${alias}`);
    return { version: a.version, weights: { ...a.weights } };
  }

  /** UpdateAlias, as CodeDeploy calls it to shift traffic. */
  public updateAlias(
    name: string,
    alias: string,
    version: string,
    weights: Record<string, number> = {},
  ): void {
    const a = this.fn(name).aliases.get(alias);
    if (!a) throw notFound(`Alias not found: ${functionArn(name)}:${alias}`);
    if (!this.fn(name).versions.has(version)) throw notFound(`version ${version} of ${name} does not exist`);
    a.version = version;
    a.weights = { ...weights };
  }

  /** Splits `Function:qualifier`, a function ARN (qualified or not) or a bare name. */
  public static parseName(functionName: string, qualifier?: string): { name: string; qualifier?: string } {
    const arn = /^arn:aws:lambda:[^:]+:\d+:function:([^:]+)(?::(.+))?$/.exec(functionName);
    if (arn) return { name: arn[1], qualifier: qualifier ?? arn[2] };
    const [name, q] = functionName.split(':');
    return { name, qualifier: qualifier ?? q };
  }

  /** Invoke (RequestResponse): runs the version's handler and records its metrics. */
  public async invoke(functionName: string, event: unknown, qualifier?: string): Promise<InvokeResult> {
    const target = LambdaService.parseName(functionName, qualifier);
    const fn = this.fn(target.name);
    const alias = target.qualifier ? fn.aliases.get(target.qualifier) : undefined;
    let version: string;
    if (alias) version = this.route(alias);
    else if (target.qualifier && target.qualifier !== '$LATEST') version = target.qualifier;
    else version = '$LATEST';
    const config = version === '$LATEST' ? { ...fn.latest, version } : fn.versions.get(version);
    if (!config) throw notFound(`Function not found: ${functionArn(fn.name)}:${version}`);

    const started = this.now();
    const requestId = `req-${++this.requests}`;
    const context: LambdaContext = {
      functionName: fn.name,
      functionVersion: version,
      invokedFunctionArn: target.qualifier
        ? `${functionArn(fn.name)}:${target.qualifier}`
        : functionArn(fn.name),
      awsRequestId: requestId,
      memoryLimitInMB: '1024',
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: `sim/${version}`,
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => Math.max(0, config.timeoutMs - (this.now() - started)),
    };
    const logs: string[] = [];
    let payload: unknown;
    let functionError: string | undefined;
    await withEnvironment({ ...this.baseEnvironment, ...config.environment }, logs, async () => {
      try {
        payload = await config.handler(event, context);
      } catch (error) {
        functionError = 'Unhandled';
        payload = {
          errorType: error instanceof Error ? error.name : 'Error',
          errorMessage: error instanceof Error ? error.message : String(error),
        };
      }
    });
    this.invocations.push({
      fn: fn.name,
      qualifier: target.qualifier,
      version,
      time: started,
      error: functionError,
    });
    this.recordMetrics(
      fn.name,
      target.qualifier,
      alias ? version : undefined,
      started,
      functionError !== undefined,
    );
    for (const line of logs) this.extractEmf(line);
    return { executedVersion: version, functionError, payload, logs };
  }

  private route(alias: { version: string; weights: Record<string, number>; calls: number }): string {
    const call = alias.calls++;
    let chosen = alias.version;
    let cumulative = 0;
    for (const [version, weight] of Object.entries(alias.weights)) {
      // Even spread: call k goes to `version` when the running share crosses an integer.
      const before = Math.floor(call * (cumulative + weight)) - Math.floor(call * cumulative);
      const after = Math.floor((call + 1) * (cumulative + weight)) - Math.floor((call + 1) * cumulative);
      if (after > before) chosen = version;
      cumulative += weight;
    }
    return chosen;
  }

  private recordMetrics(
    name: string,
    qualifier: string | undefined,
    executedVersion: string | undefined,
    time: number,
    failed: boolean,
  ): void {
    const sets: Array<Record<string, string>> = [{}, { FunctionName: name }];
    if (qualifier) sets.push({ FunctionName: name, Resource: `${name}:${qualifier}` });
    if (qualifier && executedVersion) {
      sets.push({ FunctionName: name, Resource: `${name}:${qualifier}`, ExecutedVersion: executedVersion });
    }
    for (const dims of sets) {
      this.store.put('AWS/Lambda', 'Invocations', dims, time, 1);
      this.store.put('AWS/Lambda', 'Errors', dims, time, failed ? 1 : 0);
      // Handlers run in no simulated time; Duration carries Lambda's 1 ms billing floor.
      this.store.put('AWS/Lambda', 'Duration', dims, time, 1);
    }
  }

  /** Parses one log line as an EMF document, if it is one; a malformed document throws. */
  private extractEmf(line: string): void {
    if (!line.startsWith('{') || !line.includes('"_aws"')) return;
    const doc = JSON.parse(line) as Record<string, unknown> & {
      _aws?: {
        Timestamp?: number;
        CloudWatchMetrics?: Array<{
          Namespace: string;
          Dimensions: string[][];
          Metrics: Array<{ Name: string }>;
        }>;
      };
    };
    const meta = doc._aws;
    if (!meta?.CloudWatchMetrics) return;
    if (typeof meta.Timestamp !== 'number')
      throw new Error(`EMF document without a numeric Timestamp: ${line}`);
    for (const directive of meta.CloudWatchMetrics) {
      for (const metric of directive.Metrics) {
        const raw = doc[metric.Name];
        const values = Array.isArray(raw) ? raw : [raw];
        for (const dimensionSet of directive.Dimensions.length > 0 ? directive.Dimensions : [[]]) {
          const dims: Record<string, string> = {};
          for (const d of dimensionSet) {
            // A dimension must name a string member of the document, or the document is rejected.
            if (typeof doc[d] !== 'string')
              throw new Error(`EMF dimension ${d} is not a string member: ${line}`);
            dims[d] = doc[d] as string;
          }
          for (const value of values) {
            if (typeof value !== 'number')
              throw new Error(`EMF metric ${metric.Name} is not a number: ${line}`);
            this.store.put(directive.Namespace, metric.Name, dims, meta.Timestamp, value);
          }
        }
      }
    }
  }

  private fn(name: string): FunctionState {
    const fn = this.functions.get(name);
    if (!fn) throw notFound(`Function not found: ${functionArn(name)}`);
    return fn;
  }
}

// --- The execution environment: process.env and stdout, per invocation (strictly nested) --------

const captures: string[][] = [];
let originalWrite: typeof process.stdout.write | undefined;

function capturingWrite(chunk: unknown, ...rest: unknown[]): boolean {
  const target = captures[captures.length - 1];
  if (!target)
    return (originalWrite as (c: unknown, ...r: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  for (const line of text.split('\n')) if (line.trim() !== '') target.push(line);
  const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
  callback?.();
  return true;
}

async function withEnvironment(
  env: Record<string, string>,
  logs: string[],
  run: () => Promise<void>,
): Promise<void> {
  const saved = process.env;
  process.env = { ...env };
  if (!originalWrite) {
    originalWrite = process.stdout.write.bind(process.stdout);
    process.stdout.write = capturingWrite as typeof process.stdout.write;
  }
  captures.push(logs);
  try {
    await run();
  } finally {
    captures.pop();
    process.env = saved;
  }
}

/** Puts stdout back (call in afterAll, before printing the report). */
export function releaseStdout(): void {
  if (originalWrite) process.stdout.write = originalWrite;
  originalWrite = undefined;
}
