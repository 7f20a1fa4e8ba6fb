/**
 * The tokenizer worker's entry point. Building an encoder (~0.2 s for o200k here, more on
 * a loaded machine) and counting a long prompt would stall the application's event loop;
 * here they only occupy this thread. Messages are handled one at a time, in order; while
 * one takes long, the worker tells the main thread it is alive every `HEARTBEAT_MS`, so
 * that silence means it is stuck (`tokenizer-thread.ts`).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { BpeCounter, buildCounter, importRankData, isEncodingName, type EncodingName } from './tokenizer-count.js';
import { HEARTBEAT_MS, type FromWorker, type SharedCounters, type ToWorker } from './tokenizer-protocol.js';

class WorkerTokenizer {
  private readonly counters = new Map<EncodingName, BpeCounter>();
  private lastHeartbeat = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly port: MessagePort,
    shared: SharedCounters,
  ) {
    for (const [encoding, counter] of Object.entries(shared)) {
      try {
        if (isEncodingName(encoding) && counter) this.counters.set(encoding, BpeCounter.fromShared(counter));
      } catch {
        // built again on first use
      }
    }
  }

  receive(message: ToWorker): void {
    this.queue = this.queue.then(() => this.handle(message)).catch(() => undefined);
  }

  private async handle(message: ToWorker): Promise<void> {
    if (message.type === 'warm') {
      for (const encoding of message.encodings) {
        if (isEncodingName(encoding)) await this.counter(encoding).catch(() => undefined);
      }
      const counters: SharedCounters = {};
      for (const [encoding, counter] of this.counters) counters[encoding] = counter.toShared();
      const warmed: FromWorker = { type: 'warmed', counters };
      this.port.postMessage(warmed);
      return;
    }
    let reply: FromWorker;
    try {
      const counter = await this.counter(message.encoding);
      this.lastHeartbeat = performance.now();
      reply = { type: 'counts', id: message.id, counts: message.texts.map((text) => this.run(counter.count(text))) };
    } catch (error) {
      reply = { type: 'failed', id: message.id, error: error instanceof Error ? error.message : String(error) };
    }
    this.port.postMessage(reply);
  }

  private async counter(encoding: EncodingName): Promise<BpeCounter> {
    const built = this.counters.get(encoding);
    if (built) return built;
    const data = await importRankData(encoding);
    this.lastHeartbeat = performance.now();
    const counter = this.run(buildCounter(data));
    this.counters.set(encoding, counter);
    return counter;
  }

  /** Runs a build or count to its end, with heartbeats while it takes long. */
  private run<T>(steps: Generator<void, T>): T {
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      const now = performance.now();
      if (now - this.lastHeartbeat >= HEARTBEAT_MS) {
        this.lastHeartbeat = now;
        const alive: FromWorker = { type: 'alive' };
        this.port.postMessage(alive);
      }
    }
  }
}

const port = parentPort;
if (port) {
  const shared = (workerData as { counters?: SharedCounters } | null)?.counters ?? {};
  const tokenizer = new WorkerTokenizer(port, shared);
  port.on('message', (message: ToWorker) => tokenizer.receive(message));
}
