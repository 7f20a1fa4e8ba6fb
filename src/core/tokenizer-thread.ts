/**
 * The main thread's side of the tokenizer worker. The worker starts on the first count
 * (a service whose providers always report usage never starts it), holds the process
 * open only while a count is in flight (unref'd when idle), and is given up for good if
 * it cannot start or dies: callers then count on the main thread instead.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EncodingName } from './tokenizer-count.js';
import type { CountReply, CountRequest } from './tokenizer-protocol.js';

/** The worker could not be used; counting on the main thread is the caller's fallback. */
export class TokenizerWorkerUnavailable extends Error {
  override readonly name = 'TokenizerWorkerUnavailable';
}

/**
 * A count still unanswered after this long is given up (the span must end): generous,
 * because the first one waits for the worker to start and build its encoder.
 */
const COUNT_TIMEOUT_MS = 30_000;

interface Waiting {
  resolve(counts: readonly number[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

let worker: Worker | undefined;
let unavailable: Error | undefined;
let nextId = 1;
const waiting = new Map<number, Waiting>();

/** Counts each text in the worker; rejects with `TokenizerWorkerUnavailable` if it cannot. */
export function countInWorker(encoding: EncodingName, texts: readonly string[]): Promise<readonly number[]> {
  return new Promise((resolve, reject) => {
    const thread = unavailable ? undefined : (worker ?? startWorker());
    if (!thread) {
      reject(new TokenizerWorkerUnavailable('tokenizer worker unavailable', { cause: unavailable }));
      return;
    }
    const id = nextId++;
    const timer = setTimeout(() => settle(id)?.reject(new Error(`token count timed out after ${COUNT_TIMEOUT_MS} ms`)), COUNT_TIMEOUT_MS);
    timer.unref();
    waiting.set(id, { resolve, reject, timer });
    if (waiting.size === 1) thread.ref();
    const request: CountRequest = { id, encoding, texts };
    thread.postMessage(request);
  });
}

/** Whether counts currently go to a worker (false once it failed). For tests and the benchmark. */
export function tokenizerWorkerState(): 'idle' | 'running' | 'unavailable' {
  return unavailable ? 'unavailable' : worker ? 'running' : 'idle';
}

/** Stops the worker (it restarts on the next count). For tests and the benchmark. */
export async function stopTokenizerWorker(): Promise<void> {
  const thread = worker;
  worker = undefined;
  for (const id of [...waiting.keys()]) settle(id)?.reject(new TokenizerWorkerUnavailable('tokenizer worker stopped'));
  if (thread) await thread.terminate();
}

function startWorker(): Worker | undefined {
  try {
    // execArgv: never the application's own flags (an `--import` that starts an SDK,
    // `--inspect`): the worker runs only the tokenizer.
    const thread = new Worker(workerEntry(), { eval: true, execArgv: [], stdout: false, stderr: false });
    thread.unref();
    thread.on('message', (reply: CountReply) => {
      const entry = settle(reply.id);
      if (!entry) return;
      if ('counts' in reply) entry.resolve(reply.counts);
      else entry.reject(new Error(reply.error));
    });
    thread.on('error', (error) => giveUp(thread, error));
    thread.on('exit', (code) => giveUp(thread, new Error(`tokenizer worker exited with code ${code}`)));
    worker = thread;
    return thread;
  } catch (error) {
    unavailable = error instanceof Error ? error : new Error(String(error));
    return undefined;
  }
}

/**
 * A CommonJS bootstrap requiring the worker module. Built code is CommonJS next to
 * tokenizer-worker.js; under tsx (this repository's tests) this module is TypeScript, and
 * tsx's require hook must be installed before the .ts entry loads (`--import tsx` in a
 * worker's execArgv registers too late on Node 20).
 */
function workerEntry(): string {
  const fromSource = __filename.endsWith('.ts');
  const file = join(__dirname, fromSource ? 'tokenizer-worker.ts' : 'tokenizer-worker.js');
  const hook = fromSource ? `require(${JSON.stringify(require.resolve('tsx/cjs'))});\n` : '';
  return `${hook}require(${JSON.stringify(file)});\n`;
}

function settle(id: number): Waiting | undefined {
  const entry = waiting.get(id);
  if (!entry) return undefined;
  waiting.delete(id);
  clearTimeout(entry.timer);
  if (waiting.size === 0) worker?.unref();
  return entry;
}

function giveUp(thread: Worker, error: Error): void {
  if (worker !== thread) return; // a worker stopped on purpose
  worker = undefined;
  unavailable = error;
  for (const id of [...waiting.keys()]) {
    settle(id)?.reject(new TokenizerWorkerUnavailable('tokenizer worker failed', { cause: error }));
  }
  void thread.terminate().catch(() => undefined);
}
