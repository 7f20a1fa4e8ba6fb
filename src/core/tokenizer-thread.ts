/**
 * The main thread's side of the tokenizer worker. The worker starts on the first count
 * (a service whose providers always report usage never starts it), holds the process
 * open only while a count is in flight (unref'd when idle), and is given up for good if
 * it cannot start or dies: callers then count on the main thread instead.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { importRanks, type EncodingName, type EncodingRanks } from './tokenizer-count.js';
import type { CountReply, CountRequest } from './tokenizer-protocol.js';
import { TOKENIZER_WORKER_SCRIPT } from './tokenizer-worker-script.js';

/** The worker could not be used; counting on the main thread is the caller's fallback. */
export class TokenizerWorkerUnavailable extends Error {
  override readonly name = 'TokenizerWorkerUnavailable';
}

/**
 * A count still unanswered after this long is given up (the span must end, and it is then
 * counted roughly): only a hung worker should reach it. The first count waits for the worker
 * to start and build its encoder, ~0.6 s of CPU that took over 30 s on a 2-core machine
 * running some 30 other busy processes.
 */
const COUNT_TIMEOUT_MS = 120_000;

interface Waiting {
  resolve(counts: readonly number[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

interface RunningWorker {
  readonly thread: Worker;
  /**
   * Set when the worker runs the self-contained script, which can load no module: each
   * encoding's rank table is then loaded here (already in memory in a bundle) and sent
   * with the first request for it.
   */
  readonly ranksSent?: Map<EncodingName, Promise<EncodingRanks>>;
}

let worker: RunningWorker | undefined;
let unavailable: Error | undefined;
let nextId = 1;
const waiting = new Map<number, Waiting>();

/** Counts each text in the worker; rejects with `TokenizerWorkerUnavailable` if it cannot. */
export function countInWorker(encoding: EncodingName, texts: readonly string[]): Promise<readonly number[]> {
  const running = unavailable ? undefined : (worker ?? startWorker());
  if (!running) return Promise.reject(new TokenizerWorkerUnavailable('tokenizer worker unavailable', { cause: unavailable }));
  if (!running.ranksSent) return post(running.thread, { encoding, texts });
  // Every request for this encoding waits on the same promise, so the one that carries the
  // table is posted first, and the worker builds its encoder from it.
  let ranks = running.ranksSent.get(encoding);
  const first = !ranks;
  if (!ranks) {
    ranks = importRanks(encoding);
    running.ranksSent.set(encoding, ranks);
  }
  return ranks.then(
    (table) => post(running.thread, { encoding, texts, ...(first ? { ranks: table } : {}) }),
    (error: unknown) => {
      running.ranksSent?.delete(encoding);
      throw new TokenizerWorkerUnavailable('rank table unavailable', { cause: error });
    },
  );
}

function post(thread: Worker, message: Omit<CountRequest, 'id'>): Promise<readonly number[]> {
  return new Promise((resolve, reject) => {
    if (worker?.thread !== thread) {
      reject(new TokenizerWorkerUnavailable('tokenizer worker stopped', { cause: unavailable }));
      return;
    }
    const id = nextId++;
    const timer = setTimeout(() => settle(id)?.reject(new Error(`token count timed out after ${COUNT_TIMEOUT_MS} ms`)), COUNT_TIMEOUT_MS);
    timer.unref();
    waiting.set(id, { resolve, reject, timer });
    if (waiting.size === 1) thread.ref();
    const request: CountRequest = { id, ...message };
    thread.postMessage(request);
  });
}

/** Whether counts currently go to a worker (false once it failed). For tests and the benchmark. */
export function tokenizerWorkerState(): 'idle' | 'running' | 'unavailable' {
  return unavailable ? 'unavailable' : worker ? 'running' : 'idle';
}

/** Stops the worker (it restarts on the next count). For tests and the benchmark. */
export async function stopTokenizerWorker(): Promise<void> {
  const stopped = worker;
  worker = undefined;
  for (const id of [...waiting.keys()]) settle(id)?.reject(new TokenizerWorkerUnavailable('tokenizer worker stopped'));
  if (stopped) await stopped.thread.terminate();
}

function startWorker(): RunningWorker | undefined {
  try {
    const code = workerEntry();
    if (!code) throw new Error('the tokenizer worker script is not available (tokenizer-worker.js is missing)');
    // execArgv: never the application's own flags (an `--import` that starts an SDK,
    // `--inspect`): the worker runs only the tokenizer.
    const thread = new Worker(code.script, { eval: true, execArgv: [], stdout: false, stderr: false });
    thread.unref();
    thread.on('message', (reply: CountReply) => {
      const entry = settle(reply.id);
      if (!entry) return;
      if ('counts' in reply) entry.resolve(reply.counts);
      else entry.reject(new Error(reply.error));
    });
    thread.on('error', (error) => giveUp(thread, error));
    thread.on('exit', (code) => giveUp(thread, new Error(`tokenizer worker exited with code ${code}`)));
    worker = code.selfContained ? { thread, ranksSent: new Map() } : { thread };
    return worker;
  } catch (error) {
    unavailable = error instanceof Error ? error : new Error(String(error));
    return undefined;
  }
}

/**
 * The worker's code. Installed (or run from this repository), a CommonJS bootstrap requiring
 * tokenizer-worker next to this file; under tsx (this repository's tests) that module is
 * TypeScript, and tsx's require hook must be installed before the .ts entry loads
 * (`--import tsx` in a worker's execArgv registers too late on Node 20). Inlined into a
 * single-file bundle, there is no such file to load, nor js-tiktoken: the worker then runs
 * the self-contained script the build generates (scripts/build.mjs), and gets its rank
 * tables from here.
 */
function workerEntry(): { script: string; selfContained: boolean } | undefined {
  const fromSource = __filename.endsWith('.ts');
  const file = join(__dirname, fromSource ? 'tokenizer-worker.ts' : 'tokenizer-worker.js');
  if (!existsSync(file)) return TOKENIZER_WORKER_SCRIPT === undefined ? undefined : { script: TOKENIZER_WORKER_SCRIPT, selfContained: true };
  const hook = fromSource ? `require(${JSON.stringify(require.resolve('tsx/cjs'))});\n` : '';
  return { script: `${hook}require(${JSON.stringify(file)});\n`, selfContained: false };
}

function settle(id: number): Waiting | undefined {
  const entry = waiting.get(id);
  if (!entry) return undefined;
  waiting.delete(id);
  clearTimeout(entry.timer);
  if (waiting.size === 0) worker?.thread.unref();
  return entry;
}

function giveUp(thread: Worker, error: Error): void {
  if (worker?.thread !== thread) return; // a worker stopped on purpose
  worker = undefined;
  unavailable = error;
  for (const id of [...waiting.keys()]) {
    settle(id)?.reject(new TokenizerWorkerUnavailable('tokenizer worker failed', { cause: error }));
  }
  void thread.terminate().catch(() => undefined);
}
