import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port';

export interface Memory {
  rss: number;
  anon: number;
  file: number;
  peak: number;
}

export interface Started {
  readyMs: number;
  restoredInMs?: number;
  twins?: number;
  memory?: Memory;
}

/**
 * The built service as a child process, with its memory read from /proc. It runs dist/ of this
 * checkout, or BENCH_SERVER_MAIN (another build's apps/server/src/main.js, to compare two builds).
 * Every route but /health and /ready needs a credential: the server gets a bootstrap admin key
 * (ADMIN_API_KEY from the environment, else a random one) that `fetch` and `headers` carry, and a
 * write rate limit no benchmark reaches (WRITE_RATE_LIMIT, unless the environment sets one).
 */
export class BenchServer {
  private output = '';
  /** The credential of every request to this server. */
  readonly headers: Record<string, string>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    apiKey: string,
  ) {
    this.headers = { authorization: `Bearer ${apiKey}` };
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }

  static async start(env: NodeJS.ProcessEnv): Promise<{ server: BenchServer; started: Started }> {
    const port = await freePort();
    const apiKey = env.ADMIN_API_KEY ?? process.env.ADMIN_API_KEY ?? `bench-${randomBytes(24).toString('base64url')}`;
    const main = process.env.BENCH_SERVER_MAIN || resolve(__dirname, '../../apps/server/src/main.js');
    const startedAt = performance.now();
    const child = spawn(process.execPath, [main], {
      env: { WRITE_RATE_LIMIT: String(1e9), ...process.env, ...env, ADMIN_API_KEY: apiKey, HTTP_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new BenchServer(child, `http://127.0.0.1:${port}`, apiKey);
    const deadline = Date.now() + 10 * 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${server.output}`);
      const ready = await fetch(`${server.url}/ready`).then(
        async (response) =>
          response.ok ? ((await response.json()) as { details?: { twins?: { twins?: number }; views?: { twins?: { restoredInMs?: number } } } }) : undefined,
        () => undefined,
      );
      if (ready) {
        // the read model's restore is in the `views` check, the twin count in the processor's
        const restoredInMs = ready.details?.views?.twins?.restoredInMs;
        return { server, started: { readyMs: performance.now() - startedAt, restoredInMs, twins: ready.details?.twins?.twins, memory: server.memory() } };
      }
      await sleep(100);
    }
    child.kill('SIGKILL');
    throw new Error(`the server was not ready within 10 minutes:\n${server.output}`);
  }

  /** A request to this server with its credential; `path` starts with a slash. */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.url}${path}`, { ...init, headers: { ...this.headers, ...(init.headers as Record<string, string> | undefined) } });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resident memory of the process from /proc/<pid>/status: anonymous (heap, LMDB write buffers) and file-backed (the LMDB map). */
  memory(): Memory | undefined {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
      return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') + kib('RssShmem'), peak: kib('VmHWM') };
    } catch {
      return undefined; // not Linux
    }
  }

  /** SIGKILL: no shutdown hooks, like a crash. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    this.child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    const killLater = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    this.child.kill('SIGTERM');
    await exited;
    clearTimeout(killLater);
  }
}
