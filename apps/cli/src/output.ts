import { Presets, SingleBar } from 'cli-progress';

export interface OutputOptions {
  /** One JSON document on stdout, no progress: for scripts. */
  json?: boolean;
}

/** Prints the result: JSON for scripts, or the human rendering. */
export function emit<T>(result: T, options: OutputOptions, human: (result: T) => void): void {
  if (options.json) console.log(JSON.stringify(result, null, 2));
  else human(result);
}

/** Left-aligned columns, for tables on a terminal or in a log. */
export function table(rows: readonly (readonly (string | number | null)[])[]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))));
  const widths = cells[0]?.map((_, column) => Math.max(...cells.map((row) => row[column]?.length ?? 0))) ?? [];
  return cells.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

export function formatSeconds(seconds: number | null): string {
  if (seconds === null) return 'unknown';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

const PLAIN_EVERY_MS = 2000;

/**
 * Progress of long work on stderr: a bar with rate and ETA on a terminal (cli-progress), a plain
 * line every two seconds when stderr is a file or pipe, nothing with --json.
 */
export class Progress {
  private bar: SingleBar | undefined;
  private readonly started = Date.now();
  private lastLine = 0;
  private lastDone = 0;
  private finished = false;

  constructor(
    private readonly label: string,
    private readonly options: OutputOptions,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number): void {
    this.lastDone = done;
    if (this.options.json || this.finished) return;
    this.finished = total > 0 && done >= total;
    if (this.stream.isTTY) {
      if (!this.bar) {
        this.bar = new SingleBar(
          { format: `${this.label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}`, stream: this.stream, etaBuffer: 50 },
          Presets.shades_classic,
        );
        this.bar.start(total, 0, { rate: 0 });
      }
      this.bar.setTotal(total);
      this.bar.update(done, { rate: Math.round(this.rate(done)) });
      return;
    }
    if (Date.now() - this.lastLine >= PLAIN_EVERY_MS || done === total) {
      this.lastLine = Date.now();
      const rate = this.rate(done);
      const eta = rate > 0 ? formatSeconds((total - done) / rate) : 'unknown';
      const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
      this.stream.write(`${this.label}: ${done}/${total} (${percent}%), ${Math.round(rate)}/s, ETA ${eta}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  /** Records per second since the start. */
  rate(done = this.lastDone): number {
    const seconds = (Date.now() - this.started) / 1000;
    return seconds > 0 ? done / seconds : 0;
  }
}
