/**
 * The main thread's side of the tokenizer worker.
 *
 * - The worker never holds the process open (it is unref'd from the start): an
 *   application that is done exits at once, even with counts in flight. Whoever must wait
 *   for counts (a flush, a shutdown) keeps the process alive itself, for a bounded time.
 * - It is given up for good, with one reason, the first time it fails: it cannot start,
 *   it dies, or it stays silent for `silenceMs` while counts are waiting (a busy worker
 *   says it is alive every `HEARTBEAT_MS`; before its thread is online, a minute is
 *   allowed). Waiting counts are then rejected with `TokenizerWorkerUnavailable`, and so
 *   are later ones at once: callers count on the main thread instead
 *   (`tokenizer-main-thread.ts`).
 * - A worker started only to warm (build encodings ahead of the first count) hands its
 *   counters over in shared memory and is stopped once they are built; the first count
 *   starts a worker with them (~30–40 ms to start here, no build), and that one stays.
 *   An idle worker is not free: ~8 s after it starts, V8 shrinks its heap with two full
 *   collections. Kept alive, the warm-up worker made a 20,000-chunk stream in a fresh
 *   process cost 1.027× the same process without a worker (Node 24, six side-by-side
 *   pairs, the whole process's CPU); stopped once warm, 0.994 (`docs/performance.md`).
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EncodingName } from './tokenizer-count.js';
import type { FromWorker, SharedCounters, ToWorker } from './tokenizer-protocol.js';

/** The worker could not be used; counting on the main thread is the caller's fallback. */
export class TokenizerWorkerUnavailable extends Error {
  override readonly name = 'TokenizerWorkerUnavailable';
}

/**
 * Silence, with counts waiting, after which a running worker is given up. It only has to
 * exceed what a healthy worker can go without a heartbeat: importing the rank data
 * (~0.05 s here, under a second on a loaded machine) between two heartbeats.
 */
export const DEFAULT_SILENCE_MS = 10_000;
/** The same before the thread is online: starting a thread can take seconds on a loaded machine. */
const STARTUP_SILENCE_MS = 60_000;

export interface TokenizerWorkerOptions {
  /** Gives up after this much silence with counts waiting. */
  readonly silenceMs?: number;
  /** The worker's code (CommonJS, run with `eval`); the real entry point by default. For tests. */
  readonly source?: string;
  /** Called once, when the worker is given up. */
  readonly onUnavailable?: (reason: Error) => void;
}

interface Waiting {
  resolve(counts: readonly number[]): void;
  reject(error: Error): void;
}

export class TokenizerWorker {
  private worker: Worker | undefined;
  private failure: Error | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private silenceTimer: NodeJS.Timeout | undefined;
  /** Bumped by every message from the worker (and when the silence timer is re-armed). */
  private heard = 0;
  private online = false;
  /** Whether the running worker was given counts: a worker that only warmed is stopped once warm. */
  private counting = false;
  /** Counters a worker built, kept (shared, not copied) for the workers started after it. */
  private shared: SharedCounters = {};
  private readonly silenceMs: number;

  constructor(private readonly options: TokenizerWorkerOptions = {}) {
    this.silenceMs = options.silenceMs ?? DEFAULT_SILENCE_MS;
  }

  /** Why the worker was given up, once it has been. */
  get unavailableReason(): Error | undefined {
    return this.failure;
  }

  state(): 'idle' | 'running' | 'unavailable' {
    return this.failure ? 'unavailable' : this.worker ? 'running' : 'idle';
  }

  /** Counts each text in the worker; rejects with `TokenizerWorkerUnavailable` if it cannot. */
  count(encoding: EncodingName, texts: readonly string[]): Promise<readonly number[]> {
    return new Promise((resolve, reject) => {
      const thread = this.thread();
      if (!thread) {
        reject(new TokenizerWorkerUnavailable('tokenizer worker unavailable', { cause: this.failure }));
        return;
      }
      const id = this.nextId++;
      this.counting = true;
      this.waiting.set(id, { resolve, reject });
      this.armSilenceTimer();
      this.post(thread, { type: 'count', id, encoding, texts });
    });
  }

  /** Starts the worker if needed and has it build these encodings now. Never throws. */
  warm(encodings: readonly EncodingName[]): void {
    const missing = encodings.filter((encoding) => this.shared[encoding] === undefined);
    if (missing.length === 0) return;
    const thread = this.thread();
    if (thread) this.post(thread, { type: 'warm', encodings: missing });
  }

  /** Counters built and kept for the next worker (their tables are shared memory). For tests. */
  sharedCounters(): SharedCounters {
    return this.shared;
  }

  /** Stops the worker; it starts again on the next count. For tests and the benchmark. */
  async stop(): Promise<void> {
    const thread = this.worker;
    this.worker = undefined;
    this.rejectWaiting(new TokenizerWorkerUnavailable('tokenizer worker stopped'));
    if (thread) await thread.terminate();
  }

  private thread(): Worker | undefined {
    if (this.failure) return undefined;
    if (this.worker) return this.worker;
    try {
      // execArgv: never the application's own flags (an `--import` that starts an SDK,
      // `--inspect`): the worker runs only the tokenizer.
      const thread = new Worker(this.options.source ?? workerSource(), {
        eval: true,
        execArgv: [],
        stdout: false,
        stderr: false,
        workerData: { counters: this.shared },
      });
      this.online = false;
      this.counting = false;
      thread.once('online', () => {
        this.online = true;
        this.heard++;
      });
      // A stopped worker's last messages are not for its successor.
      thread.on('message', (message: FromWorker) => {
        if (this.worker === thread) this.receive(message);
      });
      thread.on('error', (error) => this.giveUp(thread, error));
      thread.on('exit', (code) => this.giveUp(thread, new Error(`tokenizer worker exited with code ${code}`)));
      // After the listeners: adding a 'message' listener refs the worker's port again.
      thread.unref();
      this.worker = thread;
      return thread;
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
  }

  private post(thread: Worker, message: ToWorker): void {
    try {
      thread.postMessage(message);
    } catch (error) {
      this.giveUp(thread, error instanceof Error ? error : new Error(String(error)));
    }
  }

  private receive(message: FromWorker): void {
    this.heard++;
    if (message.type === 'alive') return;
    if (message.type === 'warmed') {
      this.shared = { ...this.shared, ...message.counters };
      if (!this.counting && this.waiting.size === 0) void this.stop().catch(() => undefined);
      return;
    }
    const entry = this.waiting.get(message.id);
    if (!entry) return;
    this.waiting.delete(message.id);
    if (this.waiting.size === 0) this.clearSilenceTimer();
    if (message.type === 'counts') entry.resolve(message.counts);
    else entry.reject(new Error(message.error));
  }

  /**
   * While counts wait, checks every `silenceMs` that the worker said something since the
   * last check. Before giving up it lets one turn of the event loop deliver messages that
   * arrived while the main thread itself was busy, and a check that fires late (the main
   * thread was blocked) only starts a new period.
   */
  private armSilenceTimer(): void {
    if (this.silenceTimer) return;
    const heardBefore = this.heard;
    const armedAt = performance.now();
    const limit = this.online ? this.silenceMs : Math.max(this.silenceMs, STARTUP_SILENCE_MS);
    const timer = setTimeout(() => {
      this.silenceTimer = undefined;
      if (this.waiting.size === 0) return;
      const late = performance.now() - armedAt > limit * 1.5;
      if (late || this.heard !== heardBefore) {
        this.armSilenceTimer();
        return;
      }
      const confirm = setTimeout(() => {
        if (this.waiting.size === 0) return;
        if (this.heard !== heardBefore) this.armSilenceTimer();
        else if (this.worker) this.giveUp(this.worker, new Error(`tokenizer worker silent for ${limit} ms`));
      }, 0);
      confirm.unref();
    }, limit);
    timer.unref();
    this.silenceTimer = timer;
  }

  private clearSilenceTimer(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
  }

  private giveUp(thread: Worker, error: Error): void {
    if (this.worker !== thread) return; // a worker stopped on purpose
    this.worker = undefined;
    void thread.terminate().catch(() => undefined);
    this.fail(error);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.clearSilenceTimer();
    this.rejectWaiting(new TokenizerWorkerUnavailable('tokenizer worker failed', { cause: error }));
    try {
      this.options.onUnavailable?.(error);
    } catch {
      // a reporting hook must not break counting
    }
  }

  private rejectWaiting(error: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    this.clearSilenceTimer();
    for (const entry of waiting) entry.reject(error);
  }
}

/**
 * A CommonJS bootstrap requiring the worker module. Built code is CommonJS next to
 * tokenizer-worker.js; under tsx (this repository's tests) this module is TypeScript, and
 * tsx's require hook must be installed before the .ts entry loads (`--import tsx` in a
 * worker's execArgv registers too late on Node 20).
 */
function workerSource(): string {
  const fromSource = __filename.endsWith('.ts');
  const file = join(__dirname, fromSource ? 'tokenizer-worker.ts' : 'tokenizer-worker.js');
  const hook = fromSource ? `require(${JSON.stringify(require.resolve('tsx/cjs'))});\n` : '';
  return `${hook}require(${JSON.stringify(file)});\n`;
}
