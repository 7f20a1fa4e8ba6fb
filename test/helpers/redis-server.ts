/**
 * A real redis-server for tests: started on 127.0.0.1 on a free port, no persistence
 * except the snapshot a test asks for when it stops the server (so a restart finds the
 * data, as a production Redis with persistence would), stopped at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export { waitFor } from './wait-for.js';

/** Why the Redis tests cannot run here, or undefined when they can. Under CI redis-server is required. */
export function redisUnavailableReason(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return undefined;
  if (process.env.CI === 'true') throw new Error('redis-server is required under CI (.ci/run installs it) but was not found');
  return 'redis-server not found on PATH: install it (apt-get install redis-server) to run the Redis budget store tests';
}

export class RedisServer {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'otel-llm-cost-redis-'));

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.restart();
    return server;
  }

  get running(): boolean {
    return this.process !== undefined;
  }

  /** Starts the server (again) on the same port, loading the snapshot a `stop({ save: true })` left. */
  async restart(): Promise<void> {
    if (this.process) throw new Error('redis-server is already running');
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--dbfilename', 'dump.rdb'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (output += text));
    const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`))));
    exited.catch(() => undefined);
    this.process = child;
    try {
      await Promise.race([this.waitUntilAnswering(), exited]);
    } catch (error) {
      this.process = undefined;
      throw error;
    }
  }

  /** Stops the server; with `save`, writes its data first, so `restart()` brings it back. */
  async stop(options: { save?: boolean } = {}): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.exitCode !== null || child.signalCode !== null) return;
    const reply = await command(this.port, options.save ? 'SHUTDOWN SAVE' : 'SHUTDOWN NOSAVE').catch(() => '-');
    if (reply.startsWith('-')) child.kill('SIGKILL');
    await exited;
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing is answered, as a hung Redis. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async dispose(): Promise<void> {
    this.resume();
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Polls until redis-server answers; only a hang (a minute; it starts in milliseconds) gives up. */
  private async waitUntilAnswering(): Promise<void> {
    const hung = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await command(this.port, 'PING')).startsWith('+PONG')) return;
      } catch (error) {
        if (Date.now() > hung) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Sends one inline command and resolves with the first reply line (or on close, for SHUTDOWN). */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (text: string) => {
      reply += text;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.once('close', () => resolve(reply));
    socket.once('error', reject);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a flush of `store` reached Redis (for `waitFor`). */
export function flushes(store: { flush(): Promise<void> }): Promise<boolean> {
  return store.flush().then(
    () => true,
    () => false,
  );
}
