/**
 * The simulated clock every part of the stand-in runs on. Time moves only when the driver
 * waits: the CLI's `sleep`, or a scenario's `advance`. Scheduled tasks (traffic, alarm
 * evaluation, CodeDeploy steps, hook invocations) are cooperative: a task runs until it finishes
 * or calls `sleep`, and the clock moves on only once every running task is finished or asleep.
 * Real I/O inside a task (the gate's PostgreSQL queries) is simply awaited. A whole game day is
 * therefore deterministic and costs no wall-clock time beyond the code it runs.
 */

interface Task {
  at: number;
  readonly seq: number;
  readonly every?: number;
  cancelled: boolean;
  readonly fire: () => void;
}

export class SimClock {
  private current: number;
  private seq = 0;
  private tasks: Task[] = [];
  private advancing = false;
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  private failure: unknown;

  constructor(
    start: number,
    private readonly onTick: (now: number) => void = () => undefined,
  ) {
    this.current = start;
    onTick(start);
  }

  public now(): number {
    return this.current;
  }

  /** Runs `run` at `at` (now, if `at` is past). Returns a cancel function. */
  public at(at: number, run: () => unknown): () => void {
    return this.push(Math.max(at, this.current), undefined, () => this.start(run));
  }

  /** Runs `run` every `intervalMs`, first at `first`. Returns a cancel function. */
  public every(intervalMs: number, first: number, run: () => unknown): () => void {
    return this.push(Math.max(first, this.current), intervalMs, () => this.start(run));
  }

  /** Inside a task: resumes after `ms` of simulated time, letting other tasks run meanwhile. */
  public sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.push(this.current + ms, undefined, () => {
        this.active++;
        resolve();
      });
      this.exit();
    });
  }

  /** Moves time forward by `ms`, running every task due on the way, in order. */
  public async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms);
  }

  public async advanceTo(target: number): Promise<void> {
    if (this.advancing) throw new Error('SimClock: advance() called while the clock is already advancing');
    this.advancing = true;
    try {
      for (;;) {
        const next = this.nextDue(target);
        if (!next) break;
        this.set(next.at);
        if (next.every !== undefined) next.at += next.every;
        else next.cancelled = true;
        next.fire();
        await this.idle();
        if (this.failure !== undefined) {
          const failure = this.failure;
          this.failure = undefined;
          throw failure;
        }
      }
      this.set(Math.max(target, this.current));
    } finally {
      this.advancing = false;
      this.tasks = this.tasks.filter((t) => !t.cancelled);
    }
  }

  /** Advances in steps until `done()` or `limitMs` passed; returns whether it got done. */
  public async until(done: () => boolean, limitMs: number, stepMs = 1_000): Promise<boolean> {
    const end = this.current + limitMs;
    while (!done()) {
      if (this.current >= end) return false;
      await this.advance(Math.min(stepMs, end - this.current));
    }
    return true;
  }

  private push(at: number, every: number | undefined, fire: () => void): () => void {
    const task: Task = { at, seq: this.seq++, every, cancelled: false, fire };
    this.tasks.push(task);
    return () => (task.cancelled = true);
  }

  private start(run: () => unknown): void {
    this.active++;
    Promise.resolve()
      .then(run)
      .catch((error: unknown) => (this.failure ??= error))
      .finally(() => this.exit());
  }

  private exit(): void {
    this.active--;
    if (this.active === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private idle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private nextDue(target: number): Task | undefined {
    let best: Task | undefined;
    for (const task of this.tasks) {
      if (task.cancelled || task.at > target) continue;
      if (!best || task.at < best.at || (task.at === best.at && task.seq < best.seq)) best = task;
    }
    return best;
  }

  private set(now: number): void {
    this.current = now;
    this.onTick(now);
  }
}
