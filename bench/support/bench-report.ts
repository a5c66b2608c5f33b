import { cpus, freemem, loadavg, totalmem } from 'node:os';

/** A non-negative integer setting from the environment, or the fallback. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return Math.floor(value);
}

const started = Date.now();

/** A progress line with the seconds since the benchmark started. */
export function log(message: string): void {
  console.log(`[bench +${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const extra = error as Error & { code?: unknown; clickhouseCode?: unknown };
    const codes = [extra.code, extra.clickhouseCode].filter((c) => c !== undefined).join('/');
    return `${error.name}: ${error.message}${codes ? ` (${codes})` : ''}`;
  }
  return String(error);
}

/** The machine the figures were measured on. */
export function machine(): string {
  const cpu = cpus();
  const lines = [
    `cpu: ${cpu[0]?.model ?? 'unknown'} × ${cpu.length} logical cores`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `node ${process.version}, ${process.platform}/${process.arch}`,
  ];
  return lines.join('\n');
}

/** A Markdown table; the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  const line = (row: string[]) => '| ' + row.map((cell, col) => cell.padEnd(widths[col]!)).join(' | ') + ' |';
  return [line(rows[0]!), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.slice(1).map(line)].join('\n');
}

/** The q-th percentile (0–100, nearest rank) of the values; NaN when there are none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))]!;
}
