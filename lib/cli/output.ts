/**
 * Terminal output of the operator commands. Human-readable steps go to stdout, or to stderr
 * with `--json` so that stdout carries exactly one JSON document for scripts. Progress updates
 * one line in place on a terminal and prints plain lines (only when something changed)
 * everywhere else, so CI logs stay readable.
 */

/** The part of a stream the CLI writes to (process.stdout, or a test buffer). */
export interface WritableText {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface OutputOptions {
  readonly stdout: WritableText;
  readonly stderr: WritableText;
  /** Print a JSON result on stdout; human-readable lines go to stderr. */
  readonly json: boolean;
}

export class Output {
  private readonly human: WritableText;
  private readonly live: boolean;
  private lastProgress: string | undefined;
  private progressOpen = false;

  constructor(private readonly options: OutputOptions) {
    this.human = options.json ? options.stderr : options.stdout;
    this.live = !options.json && options.stdout.isTTY === true;
  }

  /** True when results go out as JSON. */
  public get json(): boolean {
    return this.options.json;
  }

  /** One step of the command, e.g. "Creating deployment ...". */
  public step(text: string): void {
    this.line(`• ${text}`);
  }

  /** A plain informational line. */
  public info(text: string): void {
    this.line(text);
  }

  /** A warning or error, always on stderr. */
  public warn(text: string): void {
    this.closeProgress();
    this.options.stderr.write(`${text}\n`);
  }

  /** A progress update: rewrites the current line on a terminal, else a new line when it changed. */
  public progress(text: string): void {
    if (this.live) {
      this.human.write(`\r\x1b[2K  ${text}`);
      this.progressOpen = true;
    } else if (text !== this.lastProgress) {
      this.human.write(`  ${text}\n`);
    }
    this.lastProgress = text;
  }

  /** The command's result: JSON on stdout with --json, else nothing (steps already said it). */
  public result(value: unknown): void {
    this.closeProgress();
    if (this.options.json) this.options.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  private line(text: string): void {
    this.closeProgress();
    this.human.write(`${text}\n`);
  }

  private closeProgress(): void {
    if (this.progressOpen) this.human.write('\n');
    this.progressOpen = false;
    this.lastProgress = undefined;
  }
}

/** Milliseconds as seconds with one decimal (what reports and metrics print). */
export function elapsedSeconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

/** `75` → `1m 15s`; `9.2` → `9.2s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds - minutes * 60);
  return minutes < 60 ? `${minutes}m ${rest}s` : `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** A fixed-width text table: the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
