/**
 * What a command changed in AWS, kept as it happens, so that an interruption (Ctrl-C) or a
 * failure after a change can say exactly what changed and what is still running. Before the
 * first entry, an interrupted command has changed nothing.
 */

/** Something the command started that keeps running in AWS without it. */
export interface RunningWork {
  /** E.g. `deployment d-ABC123 in CodeDeploy (version 42 → 41, all at once)`. */
  readonly what: string;
  /** Copy-paste commands to follow or stop it. */
  readonly commands: readonly string[];
}

interface Entry {
  readonly change: string;
  readonly key?: string;
  running?: RunningWork;
  outcome?: string;
}

export class ChangeLog {
  private readonly entries: Entry[] = [];
  private inFlight: string | undefined;

  /** True once anything was changed, or a change was requested and its answer is awaited. */
  public get changed(): boolean {
    return this.entries.length > 0 || this.inFlight !== undefined;
  }

  /**
   * Marks a mutating request as sent (e.g. `CreateDeployment version 42 → 41`) until `work`
   * settles: an interruption meanwhile cannot claim that nothing changed.
   */
  public async during<T>(request: string, work: () => Promise<T>): Promise<T> {
    this.inFlight = request;
    try {
      return await work();
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Records a change; `running` describes what keeps going in AWS until {@link finished}. */
  public record(change: string, key?: string, running?: RunningWork): void {
    this.entries.push({ change, key, running });
  }

  /** Marks the work recorded under `key` as ended (e.g. `succeeded: version 41 serves 100%`). */
  public finished(key: string, outcome: string): void {
    for (const entry of this.entries) {
      if (entry.key !== key) continue;
      entry.running = undefined;
      entry.outcome = outcome;
    }
  }

  /** Lines saying what changed and what is still running (empty when nothing changed). */
  public report(): string[] {
    if (!this.changed) return [];
    const lines = ['Changed:'];
    for (const entry of this.entries) {
      lines.push(`  - ${entry.change}${entry.outcome ? ` (${entry.outcome})` : ''}`);
    }
    if (this.inFlight) lines.push(`  - maybe: ${this.inFlight} (sent; its answer had not come back)`);
    const running = this.entries.flatMap((e) => (e.running ? [e.running] : []));
    if (running.length === 0) {
      lines.push('Still running: nothing.');
      return lines;
    }
    lines.push('Still running (it carries on without this command):');
    for (const work of running) {
      lines.push(`  - ${work.what}`);
      for (const command of work.commands) lines.push(`      ${command}`);
    }
    return lines;
  }
}
