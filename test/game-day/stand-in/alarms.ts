/**
 * CloudWatch alarms of the stand-in, read from the synthesized template and evaluated the way
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
 * describes:
 * - an alarm whose period is a minute or more is evaluated every minute;
 * - each evaluation looks at the most recent `EvaluationPeriods` periods, a sliding window ending
 *   at the evaluation time (the default `SlidingWindow`,
 *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation-window.html);
 * - ALARM when at least `DatapointsToAlarm` of them breach, OK otherwise;
 * - missing datapoints per `TreatMissingData`
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):
 *   notBreaching = good, breaching = bad, ignore = keep the state when all are missing, missing
 *   (the default) = INSUFFICIENT_DATA when all are missing; otherwise only present ones count.
 * Metric math (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
 * numbers, metric ids, + - * /, comparisons (1 or 0), IF(c, a, b), FILL(m, v) and MAX/MIN/SUM/AVG
 * of a list `[a, b]`. Arithmetic with a missing operand is missing; FILL replaces a missing value;
 * a list function uses the series present in the period. Anything else fails loudly.
 * Composite alarms (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html):
 * ALARM(), OK(), INSUFFICIENT_DATA(), AND, OR, NOT, TRUE, FALSE over other alarms' states.
 * Ingestion delay is off by default (datapoints count the moment they are published, so every
 * measured time is a lower bound); `ingestionDelayMs` hides the newest datapoints for a scenario.
 */
import type { Dimensions, MetricStore } from './metrics';
import { alarmArn, type DeployedTemplate, type Json } from './template';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

interface MetricStatQuery {
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Dimensions;
  readonly stat: string;
  readonly period: number;
}

type Expr =
  | { kind: 'num'; value: number }
  | { kind: 'id'; id: string }
  | { kind: 'bin'; op: string; left: Expr; right: Expr }
  | { kind: 'call'; fn: 'IF' | 'FILL'; args: Expr[] }
  | { kind: 'reduce'; fn: 'MAX' | 'MIN' | 'SUM' | 'AVG'; items: Expr[] };

interface MetricAlarm {
  readonly kind: 'metric';
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly periodMs: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: string;
  readonly treatMissingData: string;
  readonly queries: ReadonlyMap<string, MetricStatQuery>;
  readonly expressions: ReadonlyMap<string, Expr>;
  readonly returnId: string;
  readonly actions: readonly string[];
}

interface CompositeAlarm {
  readonly kind: 'composite';
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly rule: string;
  readonly actions: readonly string[];
}

type AnyAlarm = MetricAlarm | CompositeAlarm;

/** One state change, as the alarm history records it. */
export interface AlarmTransition {
  readonly time: number;
  readonly alarm: string;
  readonly logicalId: string;
  readonly from: AlarmState;
  readonly to: AlarmState;
  readonly value?: number;
}

/** An alarm action that fired (an SNS notification on entering ALARM). */
export interface Notification {
  readonly time: number;
  readonly alarm: string;
  readonly topic: string;
}

export class AlarmEvaluator {
  private readonly alarms: AnyAlarm[] = [];
  private readonly states = new Map<string, AlarmState>();
  public readonly history: AlarmTransition[] = [];
  public readonly notifications: Notification[] = [];
  /** Alarms the stand-in cannot evaluate, by name, with the reason. */
  public readonly unsupported = new Map<string, { reason: string; actions: string[] }>();

  /**
   * How long a datapoint takes to become visible to alarms. Default 0 (every measured time is
   * then a lower bound); CloudWatch documents no bound, so a scenario can set an estimate.
   */
  public ingestionDelayMs = 0;

  constructor(
    template: DeployedTemplate,
    private readonly store: MetricStore,
  ) {
    this.reload(template);
  }

  /**
   * Reads the alarms from the template as deployed now (CloudFormation updates them when a
   * deployment changes what they name). Alarms keep their state across updates; a new alarm
   * starts in INSUFFICIENT_DATA.
   */
  public reload(template: DeployedTemplate): this {
    this.alarms.length = 0;
    this.unsupported.clear();
    for (const id of template.ofType('AWS::CloudWatch::Alarm')) {
      try {
        this.alarms.push(metricAlarm(template, id));
      } catch (error) {
        // Kept aside: it fails loudly the moment a flow relies on it (requireSupported).
        const actions = (
          template.resolve(template.resource(id).Properties?.AlarmActions ?? []) as Json[]
        ).map(String);
        this.unsupported.set(template.physicalName(id), {
          reason: error instanceof Error ? error.message : String(error),
          actions,
        });
      }
    }
    for (const id of template.ofType('AWS::CloudWatch::CompositeAlarm')) {
      const p = template.resource(id).Properties ?? {};
      const name = template.physicalName(id);
      this.alarms.push({
        kind: 'composite',
        logicalId: id,
        name,
        arn: alarmArn(name),
        rule: template.resolveString(p.AlarmRule),
        actions: ((template.resolve(p.AlarmActions ?? []) as Json[]) ?? []).map(String),
      });
    }
    for (const alarm of this.alarms)
      if (!this.states.has(alarm.name)) this.states.set(alarm.name, 'INSUFFICIENT_DATA');
    return this;
  }

  /**
   * Throws unless every alarm named (and every alarm a named composite depends on) can be
   * evaluated: a flow must never pass because an alarm it relies on was silently skipped.
   */
  public requireSupported(names: readonly string[]): void {
    for (const name of names) {
      const reason = this.unsupported.get(name)?.reason;
      if (reason)
        throw new Error(`alarm ${name} is relied on but the stand-in cannot evaluate it: ${reason}`);
      const alarm = this.alarms.find((a) => a.name === name);
      if (!alarm) throw new Error(`alarm ${name} is relied on but is not in the template`);
      if (alarm.kind === 'composite') {
        const children = [
          ...alarm.rule.matchAll(/(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)/g),
        ].map((m) => m[1]);
        this.requireSupported(
          children.map((c) => (c.startsWith('arn:') ? c.slice(c.lastIndexOf(':') + 1) : c)),
        );
      }
    }
  }

  /** Names of the alarms whose actions notify a topic matching `topic`. */
  public notifying(topic: RegExp): string[] {
    return [
      ...this.alarms.filter((a) => a.actions.some((t) => topic.test(t))).map((a) => a.name),
      ...[...this.unsupported].filter(([, u]) => u.actions.some((t) => topic.test(t))).map(([name]) => name),
    ];
  }

  public names(): string[] {
    return this.alarms.map((a) => a.name);
  }

  public state(nameOrArn: string): AlarmState {
    const name = nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.lastIndexOf(':') + 1) : nameOrArn;
    const state = this.states.get(name);
    if (state === undefined) throw new Error(`no alarm named ${name}`);
    return state;
  }

  public byLogicalPrefix(prefix: string): string[] {
    return this.alarms.filter((a) => a.logicalId.startsWith(prefix)).map((a) => a.name);
  }

  /** One evaluation round at `now` (call it every simulated minute). */
  public evaluate(now: number): void {
    for (const alarm of this.alarms) {
      if (alarm.kind !== 'metric') continue;
      const { state, value } = this.evaluateMetricAlarm(alarm, now);
      this.transition(alarm, state, now, value);
    }
    // Composite alarms follow their children's new states in the same round.
    for (const alarm of this.alarms) {
      if (alarm.kind !== 'composite') continue;
      const state: AlarmState = evaluateRule(alarm.rule, (arn) => this.state(arn)) ? 'ALARM' : 'OK';
      this.transition(alarm, state, now);
    }
  }

  private transition(alarm: AnyAlarm, state: AlarmState, now: number, value?: number): void {
    const from = this.states.get(alarm.name)!;
    if (from === state) return;
    this.states.set(alarm.name, state);
    this.history.push({ time: now, alarm: alarm.name, logicalId: alarm.logicalId, from, to: state, value });
    if (state === 'ALARM') {
      for (const topic of alarm.actions) this.notifications.push({ time: now, alarm: alarm.name, topic });
    }
  }

  private evaluateMetricAlarm(alarm: MetricAlarm, now: number): { state: AlarmState; value?: number } {
    const end = Math.floor(now / 60_000) * 60_000;
    const results: Array<boolean | undefined> = [];
    let last: number | undefined;
    for (let i = alarm.evaluationPeriods; i >= 1; i--) {
      const start = end - i * alarm.periodMs;
      // Datapoints not yet ingested are missing from the newest period(s).
      const visibleEnd = Math.min(start + alarm.periodMs, now - this.ingestionDelayMs);
      const value = visibleEnd > start ? this.datapoint(alarm, alarm.returnId, start, visibleEnd) : undefined;
      last = value;
      results.push(value === undefined ? undefined : compare(alarm.comparison, value, alarm.threshold));
    }
    const current = this.states.get(alarm.name)!;
    const treat = alarm.treatMissingData;
    const filled = results.map((r) =>
      r !== undefined ? r : treat === 'breaching' ? true : treat === 'notBreaching' ? false : undefined,
    );
    const present = filled.filter((r): r is boolean => r !== undefined);
    if (present.length === 0) {
      return { state: treat === 'ignore' ? current : 'INSUFFICIENT_DATA' };
    }
    const breaching = present.filter(Boolean).length;
    return { state: breaching >= alarm.datapointsToAlarm ? 'ALARM' : 'OK', value: last };
  }

  private datapoint(alarm: MetricAlarm, id: string, start: number, end: number): number | undefined {
    const query = alarm.queries.get(id);
    if (query) {
      return this.store.statistic(
        query.namespace,
        query.metricName,
        query.dimensions,
        query.stat,
        start,
        end,
      );
    }
    const expression = alarm.expressions.get(id);
    if (!expression) throw new Error(`alarm ${alarm.name}: no metric or expression '${id}'`);
    return evaluateExpr(expression, (ref) => this.datapoint(alarm, ref, start, end));
  }
}

const COMPARISONS: Record<string, (v: number, t: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

function compare(operator: string, value: number, threshold: number): boolean {
  const fn = COMPARISONS[operator];
  if (!fn) throw new Error(`the stand-in does not evaluate ComparisonOperator ${operator}`);
  return fn(value, threshold);
}

const SUPPORTED_ALARM_PROPERTIES = new Set([
  'AlarmName',
  'AlarmDescription',
  'AlarmActions',
  'OKActions',
  'InsufficientDataActions',
  'ActionsEnabled',
  'ComparisonOperator',
  'DatapointsToAlarm',
  'Dimensions',
  'EvaluationPeriods',
  'ExtendedStatistic',
  'MetricName',
  'Metrics',
  'Namespace',
  'Period',
  'Statistic',
  'Threshold',
  'TreatMissingData',
  'Unit',
  'Tags',
]);

function metricAlarm(template: DeployedTemplate, logicalId: string): MetricAlarm {
  const raw = template.resource(logicalId).Properties ?? {};
  for (const key of Object.keys(raw)) {
    if (!SUPPORTED_ALARM_PROPERTIES.has(key)) {
      throw new Error(`alarm ${logicalId}: the stand-in does not evaluate the property ${key}`);
    }
  }
  const p = template.resolve(raw) as Record<string, Json>;
  const name = template.physicalName(logicalId);
  const queries = new Map<string, MetricStatQuery>();
  const expressions = new Map<string, Expr>();
  let returnId: string;
  let periodMs: number;
  if (p.Metrics) {
    const returning: string[] = [];
    let period: number | undefined;
    for (const m of p.Metrics as Array<Record<string, Json>>) {
      const id = String(m.Id);
      if (m.ReturnData !== false) returning.push(id);
      if (m.MetricStat) {
        const stat = m.MetricStat as Record<string, Json>;
        const metric = stat.Metric as Record<string, Json>;
        queries.set(id, {
          id,
          namespace: String(metric.Namespace),
          metricName: String(metric.MetricName),
          dimensions: dimensionsOf(metric.Dimensions),
          stat: String(stat.Stat),
          period: Number(stat.Period),
        });
        period ??= Number(stat.Period);
        if (period !== Number(stat.Period))
          throw new Error(`alarm ${logicalId}: metrics with different periods`);
      } else if (typeof m.Expression === 'string') {
        expressions.set(id, parseExpression(m.Expression, logicalId));
        if (m.Period !== undefined) period ??= Number(m.Period);
      } else {
        throw new Error(`alarm ${logicalId}: metric ${id} is neither a MetricStat nor an expression`);
      }
    }
    if (returning.length !== 1)
      throw new Error(`alarm ${logicalId}: ${returning.length} metrics return data`);
    returnId = returning[0];
    if (period === undefined) throw new Error(`alarm ${logicalId}: no period`);
    periodMs = period * 1000;
  } else {
    const stat = (p.Statistic ?? p.ExtendedStatistic) as string | undefined;
    if (!stat) throw new Error(`alarm ${logicalId}: no statistic`);
    returnId = 'm';
    queries.set('m', {
      id: 'm',
      namespace: String(p.Namespace),
      metricName: String(p.MetricName),
      dimensions: dimensionsOf(p.Dimensions),
      stat,
      period: Number(p.Period),
    });
    periodMs = Number(p.Period) * 1000;
  }
  if (!(periodMs >= 60_000) || periodMs % 60_000 !== 0) {
    throw new Error(
      `alarm ${logicalId}: the stand-in evaluates periods of whole minutes only (got ${periodMs} ms)`,
    );
  }
  const evaluationPeriods = Number(p.EvaluationPeriods);
  return {
    kind: 'metric',
    logicalId,
    name,
    arn: alarmArn(name),
    periodMs,
    evaluationPeriods,
    datapointsToAlarm: Number(p.DatapointsToAlarm ?? evaluationPeriods),
    threshold: Number(p.Threshold),
    comparison: String(p.ComparisonOperator),
    treatMissingData: String(p.TreatMissingData ?? 'missing'),
    queries,
    expressions,
    returnId,
    actions: ((p.AlarmActions ?? []) as Json[]).map(String),
  };
}

function dimensionsOf(value: Json | undefined): Dimensions {
  const list = (value ?? []) as Array<{ Name: string; Value: string }>;
  return Object.fromEntries(list.map((d) => [d.Name, String(d.Value)]));
}

// --- Metric math ------------------------------------------------------------------------------

const TOKEN = /\s*(\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|>=|<=|==|!=|[-+*/(),<>[\]])/y;
const REDUCERS = ['MAX', 'MIN', 'SUM', 'AVG'] as const;

/** Parses the supported subset of metric math; anything else throws naming the expression. */
export function parseExpression(text: string, where = 'expression'): Expr {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const start = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (!match) {
      if (/^\s*$/.test(text.slice(start))) break;
      throw new Error(`${where}: cannot parse '${text}' at '${text.slice(start)}'`);
    }
    tokens.push(match[1]);
  }
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (expected?: string) => {
    const t = tokens[pos++];
    if (expected !== undefined && t !== expected)
      throw new Error(`${where}: expected '${expected}' in '${text}'`);
    return t;
  };
  const comparison = (): Expr => {
    let left = additive();
    while (['>', '>=', '<', '<=', '==', '!='].includes(peek())) {
      const op = take();
      left = { kind: 'bin', op, left, right: additive() };
    }
    return left;
  };
  const additive = (): Expr => {
    let left = term();
    while (peek() === '+' || peek() === '-') {
      const op = take();
      left = { kind: 'bin', op, left, right: term() };
    }
    return left;
  };
  const term = (): Expr => {
    let left = factor();
    while (peek() === '*' || peek() === '/') {
      const op = take();
      left = { kind: 'bin', op, left, right: factor() };
    }
    return left;
  };
  const factor = (): Expr => {
    const t = take();
    if (t === undefined) throw new Error(`${where}: '${text}' ends early`);
    if (t === '(') {
      const inner = comparison();
      take(')');
      return inner;
    }
    if (t === '-') return { kind: 'bin', op: '-', left: { kind: 'num', value: 0 }, right: factor() };
    if (/^\d/.test(t)) return { kind: 'num', value: Number(t) };
    if (peek() === '(' && (REDUCERS as readonly string[]).includes(t) && tokens[pos + 1] === '[') {
      // MAX([a, b]) and friends over a list of series: one value per period.
      take('(');
      take('[');
      const items = [comparison()];
      while (peek() === ',') {
        take(',');
        items.push(comparison());
      }
      take(']');
      take(')');
      return { kind: 'reduce', fn: t as (typeof REDUCERS)[number], items };
    }
    if (peek() === '(') {
      if (t !== 'IF' && t !== 'FILL') {
        throw new Error(`${where}: the stand-in does not evaluate the metric math function ${t}()`);
      }
      take('(');
      const args = [comparison()];
      while (peek() === ',') {
        take(',');
        args.push(comparison());
      }
      take(')');
      if (args.length !== (t === 'IF' ? 3 : 2))
        throw new Error(`${where}: ${t}() with ${args.length} arguments`);
      return { kind: 'call', fn: t, args };
    }
    return { kind: 'id', id: t };
  };
  const expr = comparison();
  if (pos !== tokens.length) throw new Error(`${where}: unexpected '${tokens[pos]}' in '${text}'`);
  return expr;
}

/** Evaluates one period of an expression; `undefined` is a missing datapoint. */
export function evaluateExpr(expr: Expr, lookup: (id: string) => number | undefined): number | undefined {
  switch (expr.kind) {
    case 'num':
      return expr.value;
    case 'id':
      return lookup(expr.id);
    case 'reduce': {
      // Over the series that have a value in this period; none → missing.
      const values = expr.items
        .map((i) => evaluateExpr(i, lookup))
        .filter((v): v is number => v !== undefined);
      if (values.length === 0) return undefined;
      if (expr.fn === 'MAX') return Math.max(...values);
      if (expr.fn === 'MIN') return Math.min(...values);
      const total = values.reduce((a, b) => a + b, 0);
      return expr.fn === 'SUM' ? total : total / values.length;
    }
    case 'call': {
      if (expr.fn === 'FILL') {
        return evaluateExpr(expr.args[0], lookup) ?? evaluateExpr(expr.args[1], lookup);
      }
      const condition = evaluateExpr(expr.args[0], lookup);
      if (condition === undefined) return undefined;
      return evaluateExpr(condition !== 0 ? expr.args[1] : expr.args[2], lookup);
    }
    case 'bin': {
      const left = evaluateExpr(expr.left, lookup);
      const right = evaluateExpr(expr.right, lookup);
      if (left === undefined || right === undefined) return undefined;
      switch (expr.op) {
        case '+':
          return left + right;
        case '-':
          return left - right;
        case '*':
          return left * right;
        case '/':
          // Unverified: the docs do not say what x/0 yields; the stand-in drops the datapoint.
          return right === 0 ? undefined : left / right;
        case '>':
          return left > right ? 1 : 0;
        case '>=':
          return left >= right ? 1 : 0;
        case '<':
          return left < right ? 1 : 0;
        case '<=':
          return left <= right ? 1 : 0;
        case '==':
          return left === right ? 1 : 0;
        case '!=':
          return left !== right ? 1 : 0;
      }
      throw new Error(`unknown operator ${expr.op}`);
    }
  }
}

// --- Composite alarm rules ------------------------------------------------------------------------

/** Evaluates an AlarmRule such as `(ALARM("arn:...") AND NOT OK("name"))`. */
export function evaluateRule(rule: string, state: (nameOrArn: string) => AlarmState): boolean {
  const tokens = rule.match(/ALARM|OK|INSUFFICIENT_DATA|AND|OR|NOT|TRUE|FALSE|\(|\)|"[^"]*"|\S+/g) ?? [];
  let pos = 0;
  const take = () => tokens[pos++];
  const or = (): boolean => {
    let value = and();
    while (tokens[pos] === 'OR') {
      take();
      value = and() || value;
    }
    return value;
  };
  const and = (): boolean => {
    let value = unary();
    while (tokens[pos] === 'AND') {
      take();
      value = unary() && value;
    }
    return value;
  };
  const unary = (): boolean => {
    const t = take();
    if (t === 'NOT') return !unary();
    if (t === 'TRUE') return true;
    if (t === 'FALSE') return false;
    if (t === '(') {
      const value = or();
      if (take() !== ')') throw new Error(`AlarmRule '${rule}': missing ')'`);
      return value;
    }
    if (t === 'ALARM' || t === 'OK' || t === 'INSUFFICIENT_DATA') {
      if (take() !== '(') throw new Error(`AlarmRule '${rule}': expected '(' after ${t}`);
      const ref = take().replace(/^"|"$/g, '');
      if (take() !== ')') throw new Error(`AlarmRule '${rule}': expected ')'`);
      return state(ref) === t;
    }
    throw new Error(`AlarmRule '${rule}': the stand-in does not evaluate '${t}'`);
  };
  const value = or();
  if (pos !== tokens.length) throw new Error(`AlarmRule '${rule}': unexpected '${tokens[pos]}'`);
  return value;
}
