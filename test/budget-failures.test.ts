/**
 * Budgets when things go wrong: a store that throws, a callback that rejects, nested scopes
 * with one name, a second instrumentation, a completed stream whose last (hidden) usage
 * chunk crosses the limit, and many streams admitted at once. Real SDKs, the emulator and
 * the real OpenTelemetry SDK throughout.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  BudgetExceededError,
  BudgetStoreUnavailableError,
  InMemoryBudgetStore,
  LLMCostInstrumentation,
  withBudget,
  type BudgetKey,
  type BudgetStore,
  type CostRecord,
  type Reservation,
} from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const costs: CostRecord[] = [];
const harness = useHarness({ onCost: (record) => void costs.push(record) });
const { otel } = harness;
let openai: InstanceType<typeof otel.OpenAI>;
let anthropic: InstanceType<typeof otel.Anthropic>;
const model = 'gpt-4o-mini';
const messages = [{ role: 'user' as const, content: 'Write a story about a lighthouse keeper.' }];

harness.setup(() => {
  openai = harness.openai();
  anthropic = harness.anthropic();
});
beforeEach(() => {
  costs.length = 0;
});

/** An in-memory store whose chosen method throws (`failures` times, then works). */
class FailingStore implements BudgetStore {
  private readonly inner = new InMemoryBudgetStore();
  constructor(
    private readonly failing: 'reserve' | 'add' | 'total',
    private failures = Infinity,
  ) {}
  private maybeFail(method: string): void {
    if (method === this.failing && this.failures > 0) {
      this.failures--;
      throw new Error(`store ${method} is down`);
    }
  }
  reserve(key: BudgetKey, amountUsd: number, limitUsd: number): Reservation {
    this.maybeFail('reserve');
    return this.inner.reserve(key, amountUsd, limitUsd);
  }
  add(key: BudgetKey, amountUsd: number): void {
    this.maybeFail('add');
    this.inner.add(key, amountUsd);
  }
  total(key: BudgetKey): number {
    this.maybeFail('total');
    return this.inner.total(key);
  }
  reset(key: BudgetKey): void {
    this.inner.reset(key);
  }
}

async function streamToEnd(outputTokens = 50): Promise<number> {
  let chunks = 0;
  const stream = await openai.chat.completions.create({ model, messages, stream: true }, script({ outputTokens }));
  for await (const _chunk of stream) chunks++;
  return chunks;
}

describe('a store that fails', () => {
  it('add() that throws once: withBudget still resolves, and the request has its tokens, cost, metric and onCost', async () => {
    const store = new FailingStore('add', 1);
    const result = await withBudget({ name: 'flaky-add', maxUsd: 1, store }, async () => streamToEnd());
    assert.ok(result > 0);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
    assert.ok((attr(span, 'llm_cost.cost.usd') as number) > 0);
    assert.equal(costs.length, 1, 'onCost was called');
    const spend = (await otel.metricPoints('llm_cost.spend')).reduce((sum, p) => sum + p.value, 0);
    assert.ok(spend > 0, 'the spend metric has it');
  });

  it('reserve() that throws in an inner budget: the healthy outer budget is still charged and still limits', async () => {
    const broken = new FailingStore('reserve');
    const outer = await withBudget({ name: 'outer-healthy', maxUsd: 1 }, async (outer) => {
      await withBudget({ name: 'inner-broken', maxUsd: 1, store: broken }, () => streamToEnd());
      return outer;
    });
    await otel.settle();
    const total = costs.reduce((sum, c) => sum + (c.cost.source === 'unpriced' ? 0 : c.cost.totalUsd), 0);
    assert.ok(total > 0);
    assert.ok(Math.abs(outer.spentUsd - total) < 1e-12, `outer charged ${outer.spentUsd}, request cost ${total}`);
  });

  it('reserve() that throws in the outer budget: the inner one keeps no leaked reservation', async () => {
    const broken = new FailingStore('reserve');
    const inner = await withBudget({ name: 'outer-broken', maxUsd: 1, store: broken }, () =>
      withBudget({ name: 'inner-healthy', maxUsd: 1 }, async (inner) => {
        await streamToEnd();
        return inner;
      }),
    );
    await otel.settle();
    const total = costs.reduce((sum, c) => sum + (c.cost.source === 'unpriced' ? 0 : c.cost.totalUsd), 0);
    assert.ok(Math.abs(inner.spentUsd - total) < 1e-12, `inner holds ${inner.spentUsd}, request cost ${total}`);
  });

  it('a store whose methods answer with promises is unavailable: refused with a clear error, nothing hangs', async () => {
    const promising = {
      reserve: () => Promise.resolve('reserved'),
      add: () => Promise.resolve(),
      total: () => Promise.resolve(0),
      reset: () => Promise.resolve(),
    } as unknown as BudgetStore;
    await assert.rejects(
      withBudget({ name: 'promising-store', maxUsd: 1, store: promising }, () => streamToEnd()),
      (error: unknown) => error instanceof BudgetStoreUnavailableError,
    );
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'budget_exceeded');
  });
});

describe('budget bookkeeping', () => {
  it('nested scopes with the same name charge the account once', async () => {
    const budget = await withBudget({ name: 'same-name', maxUsd: 1 }, () =>
      withBudget({ name: 'same-name', maxUsd: 1 }, async (inner) => {
        await streamToEnd();
        return inner;
      }),
    );
    await otel.settle();
    const total = costs.reduce((sum, c) => sum + (c.cost.source === 'unpriced' ? 0 : c.cost.totalUsd), 0);
    assert.ok(Math.abs(budget.spentUsd - total) < 1e-12, `spent ${budget.spentUsd} for a request costing ${total}`);
    budget.reset();
  });

  it('a second, disabled instrumentation leaves the first one’s budget store alone', async () => {
    const store = new InMemoryBudgetStore();
    otel.instrumentation.setConfig({ ...otel.instrumentation.getConfig(), budgetStore: store });
    try {
      const second = new LLMCostInstrumentation({ enabled: false });
      assert.equal(second.isEnabled(), false);
      const budget = await withBudget({ name: 'kept-store', maxUsd: 1 }, async (budget) => {
        await streamToEnd();
        return budget;
      });
      await otel.settle();
      assert.ok(store.total(budget.key) > 0, 'charged to the configured store');
    } finally {
      otel.instrumentation.setConfig({ ...otel.instrumentation.getConfig(), budgetStore: undefined });
    }
  });

  it('an onCost that rejects is logged, never an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const config = otel.instrumentation.getConfig();
    otel.instrumentation.setConfig({ ...config, onCost: async () => Promise.reject(new Error('billing is down')) });
    try {
      await streamToEnd();
      await otel.settle();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      otel.instrumentation.setConfig(config);
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('a stream that completes over the limit', () => {
  // Digits run ~0.5 tokens per character, where a running estimate assumes ~0.21: the
  // visible text stays under the limit, and only the provider's final count crosses it.
  const dense = Array.from({ length: 1000 }, (_, i) => String(i % 10)).join(' ');
  const denseScript = script({ text: dense });

  /** What one request with `denseScript` costs, as reported: input and output USD. */
  async function probe(send: () => Promise<unknown>): Promise<{ inputUsd: number; outputUsd: number }> {
    await send();
    await otel.settle();
    const cost = costs[0]!.cost;
    assert.ok(cost.source === 'reported', 'the probe reports usage');
    otel.reset();
    costs.length = 0;
    return cost;
  }

  it('openai: the hidden usage chunk crosses the limit after finish_reason: completed, charged, no error; the next request is refused', async () => {
    const cost = await probe(() => openai.chat.completions.create({ model, messages }, denseScript));
    const limit = cost.inputUsd + 0.7 * cost.outputUsd;
    const budget = await withBudget({ name: 'tight-complete', maxUsd: limit }, async (budget) => {
      const stream = await openai.chat.completions.create({ model, messages, stream: true }, denseScript);
      let sawStop = false;
      for await (const chunk of stream) if (chunk.choices[0]?.finish_reason === 'stop') sawStop = true;
      assert.ok(sawStop, 'the consumer saw the response finish, and no error followed');
      await assert.rejects(
        openai.chat.completions.create({ model, messages, stream: true }, denseScript),
        (error: unknown) => error instanceof BudgetExceededError && /exhausted/.test(error.message),
      );
      return budget;
    });
    const spans = await otel.settle(2);
    assert.equal(attr(spans[0]!, 'llm_cost.stream.outcome'), 'completed');
    assert.equal(attr(spans[0]!, 'llm_cost.usage.output_tokens.source'), 'reported');
    assert.equal(attr(spans[1]!, 'llm_cost.stream.outcome'), 'budget_exceeded');
    assert.ok(budget.spentUsd > limit, 'the budget was charged the full, reported cost');
  });

  it('anthropic: the final message_delta crosses the limit: completed, charged, no error', async () => {
    const claude = 'claude-3-5-haiku-latest';
    const cost = await probe(() => anthropic.messages.create({ model: claude, max_tokens: 4000, messages }, denseScript));
    const limit = cost.inputUsd + 0.7 * cost.outputUsd;
    const budget = await withBudget({ name: 'tight-complete-anthropic', maxUsd: limit }, async (budget) => {
      const stream = await anthropic.messages.create({ model: claude, max_tokens: 4000, messages, stream: true }, denseScript);
      for await (const _event of stream) void _event;
      return budget;
    });
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
    assert.ok(budget.spentUsd > limit);
  });
});

describe('many streams admitted at once', () => {
  it('200 concurrent streams under one budget spend at most 125% of it', async () => {
    // 200 connections at once to an emulator in this same process: on a loaded machine a
    // connect can time out, so the SDK may retry it, as it would in production.
    const client = harness.openai({ maxRetries: 3 });
    const limit = 0.002;
    const budget = await withBudget({ maxUsd: limit }, async (budget) => {
      await Promise.all(
        Array.from({ length: 200 }, async () => {
          try {
            const stream = await client.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 2000, chunkDelayMs: 1 }));
            for await (const _chunk of stream) void _chunk;
          } catch (error) {
            if (!(error instanceof BudgetExceededError)) throw error;
          }
        }),
      );
      return budget;
    });
    await otel.settle(200);
    const total = costs.reduce((sum, c) => sum + (c.cost.source === 'unpriced' ? 0 : c.cost.totalUsd), 0);
    console.log(`# 200 concurrent streams: limit $${limit}, spent $${total.toFixed(7)} (${((100 * total) / limit).toFixed(1)}%)`);
    assert.ok(total <= 1.25 * limit, `spent ${total} of ${limit}`);
    assert.ok(Math.abs(budget.spentUsd - total) < 1e-9, 'the budget holds exactly the spans’ costs');
  });
});
