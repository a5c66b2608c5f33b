import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminHeaders } from './http';
import { stackEnv, TestStack } from './test-stack';
import { freePort } from '../../bench/support/free-port';

/** Enough output for a test that reads a server's log lines back, bounded for servers that run long. */
const OUTPUT_KEPT = 1 << 20;

/**
 * The built service's entry point: dist/ of this checkout, or FLEETSTREAM_TEST_SERVER_MAIN (another
 * build, say one with a bug put in on purpose to see a guarantee test fail).
 */
function serverMain(): string {
  return process.env.FLEETSTREAM_TEST_SERVER_MAIN ?? resolve(__dirname, '../../dist/apps/server/src/main.js');
}

/** The built service (`npm run build`) as a separate process, so a test can kill it like a crash would. */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private output = '';
  readonly url: string;

  private constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async create(stack: TestStack, overrides: Record<string, string> = {}): Promise<ServerProcess> {
    const port = await freePort();
    return new ServerProcess(
      {
        ...process.env,
        ...stackEnv(stack),
        // each process its own embedded ClickHouse: chdb allows one process per data directory
        FLEETSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'fleetstream-proc-')),
        HTTP_PORT: String(port),
        ...overrides,
      },
      port,
    );
  }

  async start(): Promise<this> {
    this.child = spawn(process.execPath, [serverMain()], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-OUTPUT_KEPT)));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-OUTPUT_KEPT)));
    for (let i = 0; i < 300; i++) {
      if (this.child.exitCode !== null) throw new Error(`server exited with ${this.child.exitCode}:\n${this.output.slice(-20_000)}`);
      const ready = await fetch(`${this.url}/ready`).then((r) => r.ok, () => false);
      if (ready) return this;
      await sleep(200);
    }
    throw new Error(`server not ready in 60 s:\n${this.output.slice(-20_000)}`);
  }

  /** The last OUTPUT_KEPT characters the process wrote to stdout and stderr (its JSON log lines; the first may be cut). */
  logs(): string {
    return this.output;
  }

  /** SIGKILL: no shutdown hooks, no last commit — a crash. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGSTOP: the process freezes mid-whatever, as in a long GC pause or a paused VM; resume() wakes it. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** SIGTERM (graceful shutdown), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    const killLater = setTimeout(() => this.child?.kill('SIGKILL'), 15_000);
    await this.signal('SIGTERM');
    clearTimeout(killLater);
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    // a child ended by a signal has signalCode set and exitCode null
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
    child.kill(signal);
    await exited;
  }

  /** Any HTTP request, as the bootstrap admin unless `headers` carry another credential (an empty authorization: none); a JSON body is sent and parsed as JSON. */
  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...adminHeaders, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async get<T>(path: string): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, { headers: adminHeaders });
    return { status: response.status, body: (response.status === 200 ? await response.json() : undefined) as T };
  }
}
