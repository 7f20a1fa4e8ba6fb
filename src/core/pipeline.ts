/**
 * What happens to a request after its outcome is decided: costing (asynchronous: the
 * tokenizer may have to count), the watch's settlement (budgets), then the exporters (the
 * span, the metrics, `onCost`), in that order. The span ends exactly once here, whatever
 * fails on the way.
 *
 * The pipeline knows which requests are still on their way to the exporters, so a shutdown
 * or flush can wait for them (`drain`), bounded: past its deadline, estimates stop waiting
 * for the tokenizer and count roughly, so every span still ends with figures.
 */
import { costRequest, type CostingContext } from './costing.js';
import type { EndedRequest } from './lifecycle.js';
import type { BudgetSettlement, CostRecord } from './model.js';
import { logInternalError } from './safely.js';

/** Receives every request once it is costed (or once costing failed: then `record` is undefined). */
export interface CostExporter {
  export(ended: EndedRequest, record: CostRecord | undefined): void | Promise<void>;
}

/** How long a drain waits for estimates before they are counted roughly, of its whole bound. */
const HURRY_SHARE = 0.6;

export class CostPipeline {
  private readonly inFlight = new Set<Promise<void>>();
  /** Requests exported so far (a processor may still hold their spans until it is flushed). */
  private exportedCount = 0;
  /**
   * What hurries each request being costed now. One promise per request, dropped when its
   * costing ends: estimates race against it, and each race leaves a reaction on it, so a
   * promise shared by every request (never resolved unless a drain hurries) kept about 1 KB
   * per estimated request alive for good (4 MB after 3,000 cut streams in `bench/child.ts memory`).
   */
  private readonly hurrying = new Set<() => void>();

  constructor(
    private readonly context: () => Omit<CostingContext, 'hurry'>,
    /** The span exporter first: it ends the span, which must happen even if another exporter fails. */
    private readonly exporters: readonly CostExporter[],
  ) {}

  get pending(): number {
    return this.inFlight.size;
  }

  get exported(): number {
    return this.exportedCount;
  }

  accept(ended: EndedRequest): void {
    this.track(this.run(ended));
  }

  /** Work a drain waits for (the export of a request, or what its costing started in the background). */
  private track(work: Promise<unknown>): void {
    const tracked: Promise<void> = work.then(
      () => undefined,
      (error: unknown) => logInternalError('finishing a request', error),
    );
    const running = tracked.finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  /**
   * Resolves once every accepted request has been exported, or after `timeoutMs`
   * (estimates switch to rough counts at 60% of it, so the exporters still run in time).
   */
  async drain(timeoutMs = Infinity): Promise<void> {
    if (this.inFlight.size === 0) return;
    const timers: NodeJS.Timeout[] = [];
    const after = (ms: number, then: () => void): void => {
      if (!Number.isFinite(ms)) return;
      const timer = setTimeout(then, ms);
      timer.unref();
      timers.push(timer);
    };
    let timedOut = false;
    const deadline = new Promise<void>((resolve) =>
      after(timeoutMs, () => {
        timedOut = true;
        resolve();
      }),
    );
    after(timeoutMs * HURRY_SHARE, () => this.hurryAll());
    try {
      while (this.inFlight.size > 0 && !timedOut) await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }

  /** Estimates of the requests being costed now stop waiting for exact counts (those costed later are not hurried). */
  private hurryAll(): void {
    for (const hurry of this.hurrying) hurry();
    this.hurrying.clear();
  }

  private async run(ended: EndedRequest): Promise<void> {
    let record: CostRecord | undefined;
    let hurry!: () => void;
    const hurried = new Promise<void>((resolve) => (hurry = resolve));
    this.hurrying.add(hurry);
    try {
      record = await costRequest(ended, { ...this.context(), hurry: hurried, background: (work) => this.track(work) });
    } catch (error) {
      logInternalError('costing a request', error);
    } finally {
      this.hurrying.delete(hurry);
    }
    if (ended.watch) {
      let settlement: BudgetSettlement | undefined;
      try {
        settlement = ended.watch.settle(record?.cost, ended.responseModel);
      } catch (error) {
        logInternalError('settling a budget', error);
      }
      if (record && settlement) record = { ...record, budget: settlement };
    }
    for (const exporter of this.exporters) {
      try {
        await exporter.export(ended, record);
      } catch (error) {
        logInternalError('exporting a request', error);
      }
    }
    this.exportedCount++;
  }
}
