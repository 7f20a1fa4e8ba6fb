/**
 * Budgets with the real SDKs against the emulator: a stream stopped mid-way (connection
 * closed, spend within a chunk of the limit), pre-flight refusal with nothing sent, nested
 * and session budgets, concurrency, clamp, fallback, and budgets declared in the config.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { context, propagation } from '@opentelemetry/api';
import fc from 'fast-check';
import { PriceCatalog } from '../src/pricing/catalog.js';
import { priceRequest } from '../src/pricing/price-request.js';
import { BudgetExceededError, getBudget, withBudget, type CostRecord, type LLMCostInstrumentationConfig } from '../src/index.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const costs: CostRecord[] = [];
const baseConfig: LLMCostInstrumentationConfig = { abandonedTimeoutMs: 2000, onCost: (record) => costs.push(record) };
const harness = useHarness(baseConfig);
const { otel } = harness;
let openai: InstanceType<typeof otel.OpenAI>;
let anthropic: InstanceType<typeof otel.Anthropic>;
const model = 'gpt-4o-mini';
const messages = [{ role: 'user' as const, content: 'Write a very long story about a lighthouse keeper.' }];

/** USD per output token for `model` (from the same price data the package uses). */
function outputUsdPerToken(provider: string, name: string): number {
  const price = (output: number) =>
    priceRequest(
      { provider, models: [name], usage: { input: { value: 0, source: 'estimated' }, output: { value: output, source: 'estimated' } } },
      { catalog: new PriceCatalog() },
    );
  const priced = price(1_000_000);
  assert.ok(priced.source !== 'unpriced');
  return priced.totalUsd / 1_000_000;
}

async function drain(stream: AsyncIterable<unknown>): Promise<{ chunks: number; error: unknown }> {
  let chunks = 0;
  try {
    for await (const _chunk of stream) chunks++;
  } catch (error) {
    return { chunks, error };
  }
  return { chunks, error: undefined };
}

harness.setup(() => {
  openai = harness.openai();
  anthropic = harness.anthropic();
});
beforeEach(() => {
  costs.length = 0;
});

describe('a budget stops a stream mid-way', () => {
  it('a 10,000-token stream under a budget for ~1,000 output tokens stops at ~1,000, connection closed', async () => {
    const perToken = outputUsdPerToken('openai', model);
    // What the input costs, measured on an unbudgeted request first.
    const probe = await openai.chat.completions.create({ model, messages }, script({ outputTokens: 1 }));
    assert.ok(probe.usage);
    // A warm process, as a service is after its first estimate: a broken stream's estimate
    // loads the tokenizer worker's encoding. (Cold, the first exact counts arrive ~0.6 s late
    // and the ratio alone decides until then; docs/budgets.md has those figures too.)
    for await (const _chunk of await openai.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 50 }))) break;
    await otel.settle(2);
    otel.reset();
    costs.length = 0;
    await openai.chat.completions.create({ model, messages }, script({ outputTokens: 1 }));
    await otel.settle(1);
    const inputUsd = costs.at(-1)!.cost.source === 'unpriced' ? 0 : (costs.at(-1)!.cost as { inputUsd: number }).inputUsd;
    otel.reset();
    harness.emulator.reset();
    costs.length = 0;

    const limit = inputUsd + 1000 * perToken;
    let received = 0;
    let caught: unknown;
    const budget = await withBudget({ maxUsd: limit }, async (budget) => {
      const stream = await openai.chat.completions.create(
        { model, messages, stream: true },
        // Paced like a provider generating, so the stop reaches it while it still has tokens to send.
        script({ outputTokens: 10_000, chunkDelayMs: 1 }),
      );
      ({ chunks: received, error: caught } = await drain(stream));
      return budget;
    });

    assert.ok(caught instanceof BudgetExceededError, `got ${String(caught)}`);
    assert.equal(caught.reason, 'midstream');
    assert.equal(caught.limitUsd, limit);
    assert.equal(caught.budgetName, budget.name);
    assert.equal(caught.request.model, model);

    const log = await harness.emulator.waitForRequestEnd(1);
    assert.equal(log.clientClosedEarly, true, 'the emulator saw the client go away');
    assert.ok(log.outputTokensSent < 2000, `the provider stopped generating: ${log.outputTokensSent} tokens sent`);

    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'budget_exceeded');
    assert.equal(attr(span, 'llm_cost.budget.reason'), 'midstream');
    assert.equal(attr(span, 'llm_cost.budget.name'), budget.name);
    assert.equal(attr(span, 'llm_cost.budget.limit_usd'), limit);
    assert.equal(attr(span, 'llm_cost.stream.chunks'), received);
    const output = attr(span, 'gen_ai.usage.output_tokens') as number;
    assert.ok(output > 950 && output < 1050, `stopped at ${output} output tokens`);
    const spent = attr(span, 'llm_cost.budget.spent_usd') as number;
    assert.equal(spent, budget.spentUsd);
    assert.equal(spent, attr(span, 'llm_cost.cost.usd'));
    // Within one chunk of the limit: the chunk that crossed it is the overshoot.
    const chunkUsd = (output / received) * perToken;
    assert.ok(Math.abs(spent - limit) <= 2 * chunkUsd, `spent ${spent} vs limit ${limit} (one chunk = ${chunkUsd})`);
    console.log(
      `# 10k-token stream: stopped after ${received} chunks, ${output} output tokens; spent $${spent.toFixed(7)} of $${limit.toFixed(7)}; emulator sent ${log.outputTokensSent} tokens`,
    );

    const trips = await otel.metricPoints('llm_cost.budget.exceeded');
    assert.deepEqual(
      trips.map((p) => [p.attributes['llm_cost.budget.name'], p.attributes['llm_cost.budget.reason'], p.value]),
      [[budget.name, 'midstream', 1]],
    );
  });

  it('Anthropic messages stream: stopped, the next read throws, chunks already delivered stay delivered', async () => {
    const perToken = outputUsdPerToken('anthropic', 'claude-3-5-haiku-latest');
    let seen = 0;
    let caught: unknown;
    await withBudget({ maxUsd: 0.0001 + 300 * perToken }, async () => {
      const stream = await anthropic.messages.create(
        { model: 'claude-3-5-haiku-latest', max_tokens: 8000, messages, stream: true },
        script({ outputTokens: 5000, chunkDelayMs: 1 }),
      );
      ({ chunks: seen, error: caught } = await drain(stream));
    });
    assert.ok(caught instanceof BudgetExceededError);
    assert.ok(seen > 10);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.stream.outcome'), 'budget_exceeded');
    assert.equal(attr(span, 'llm_cost.stream.chunks'), seen);
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'reported', 'message_start reported the input');
    assert.equal((await harness.emulator.waitForRequestEnd(1)).clientClosedEarly, true);
  });

  it('OpenAI Responses stream and the .stream() helper are stopped too', async () => {
    await withBudget({ maxUsd: 0.0002 }, async () => {
      const responses = await openai.responses.create({ model, input: 'Write a long essay.', stream: true }, script({ outputTokens: 4000 }));
      const first = await drain(responses);
      assert.ok(first.error instanceof BudgetExceededError, `got ${String(first.error)}`);
    });
    const helperError = await withBudget({ maxUsd: 0.0002 }, async () => {
      const helper = openai.chat.completions.stream({ model, messages }, script({ outputTokens: 4000 }));
      return (await drain(helper)).error;
    });
    // The helpers wrap errors that are not the SDK's own in theirs, keeping ours as the cause.
    assert.ok(helperError instanceof Error, 'the helper surfaces the stop as an error');
    assert.ok((helperError as Error).cause instanceof BudgetExceededError, 'with the budget error as its cause');
    const spans = await otel.settle(2);
    assert.deepEqual(
      spans.map((s) => attr(s, 'llm_cost.stream.outcome')),
      ['budget_exceeded', 'budget_exceeded'],
    );
  });
});

describe('any budget, any stream length', () => {
  it('a stream that fits completes untouched; one that does not stops within a chunk of the limit', async () => {
    const perToken = outputUsdPerToken('openai', model);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 20, max: 400 }), fc.integer({ min: 10, max: 600 }), async (budgetTokens, outputTokens) => {
        otel.reset();
        costs.length = 0;
        const limit = 0.00001 + budgetTokens * perToken;
        let chunks = 0;
        const outcome = await withBudget({ maxUsd: limit }, async (budget) => {
          // Paced, as a provider streams: a burst already in the socket buffer is read in one
          // go of microtasks, before any exact count can come back from the tokenizer worker.
          const stream = await openai.chat.completions.create({ model, messages, stream: true }, script({ outputTokens, chunkDelayMs: 1 }));
          const { chunks: read, error } = await drain(stream);
          chunks = read;
          assert.ok(error === undefined || error instanceof BudgetExceededError, `only a budget error: ${String(error)}`);
          return { budget, stopped: error !== undefined };
        });
        const span = onlySpan(await otel.settle());
        const cost = attr(span, 'llm_cost.cost.usd') as number;
        assert.equal(attr(span, 'llm_cost.stream.outcome'), outcome.stopped ? 'budget_exceeded' : 'completed');
        assert.equal(outcome.budget.spentUsd, cost, 'the budget holds exactly the span’s cost');
        assert.equal(attr(span, 'llm_cost.stream.chunks'), chunks);
        // One emulator chunk carries up to ~3 tokens; the crossing chunk is the overshoot. On a
        // loaded machine the worker's exact counts can come back late, and the stop then rests
        // on the tokens-per-character ratio for the last stretch: allow its few percent.
        const output = attr(span, 'gen_ai.usage.output_tokens') as number;
        const slack = (4 + 0.05 * output) * perToken;
        assert.ok(cost <= limit + slack, `spent ${cost} of ${limit}`);
        if (outcome.stopped) assert.ok(cost >= limit - slack, `stopped early: ${cost} of ${limit}`);
        else assert.equal(attr(span, 'llm_cost.cost.source'), 'reported');
      }),
      { numRuns: 15 },
    );
  });
});

describe('pre-flight', () => {
  it('a request whose input alone does not fit is refused before it is sent', async () => {
    const long = [{ role: 'user' as const, content: 'lighthouse '.repeat(5000) }];
    await withBudget({ maxUsd: 0.0001, name: 'tiny' }, async (budget) => {
      const request = openai.chat.completions.create({ model, messages: long, stream: true });
      await assert.rejects(request, (error: unknown) => {
        assert.ok(error instanceof BudgetExceededError);
        assert.equal(error.reason, 'preflight');
        assert.equal(error.budgetName, 'tiny');
        return true;
      });
      // The SDK's promise surface keeps working on a refusal.
      await assert.rejects(openai.chat.completions.create({ model, messages: long }).withResponse(), BudgetExceededError);
      await assert.rejects(anthropic.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: long }), BudgetExceededError);
      assert.equal(budget.spentUsd, 0, 'a refusal spends nothing');
    });
    assert.equal(harness.emulator.requests.length, 0, 'nothing was sent');
    const spans = await otel.settle(3);
    for (const span of spans) {
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'budget_exceeded');
      assert.equal(attr(span, 'llm_cost.budget.reason'), 'preflight');
      assert.equal(attr(span, 'gen_ai.usage.input_tokens'), 0);
      assert.equal(attr(span, 'llm_cost.cost.usd'), 0);
    }
    const trips = await otel.metricPoints('llm_cost.budget.exceeded');
    assert.ok(trips.some((p) => p.attributes['llm_cost.budget.reason'] === 'preflight' && p.value >= 3));
  });
});

describe('budget scopes', () => {
  it('nested budgets charge every enclosing budget; the inner one stops the stream', async () => {
    await withBudget({ maxUsd: 1, name: 'outer-nested' }, async (outer) => {
      await withBudget({ maxUsd: 0.0002, name: 'inner-nested' }, async (inner) => {
        const stream = await openai.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 3000 }));
        const { error } = await drain(stream);
        assert.ok(error instanceof BudgetExceededError);
        assert.equal(error.budgetName, 'inner-nested');
        void inner;
      });
      const response = await openai.chat.completions.create({ model, messages }, script({ outputTokens: 20 }));
      assert.ok(response.usage);
      const inner = getBudget('inner-nested')!;
      await otel.settle(2);
      const total = costs.reduce((sum, c) => sum + (c.cost.source === 'unpriced' ? 0 : c.cost.totalUsd), 0);
      assert.ok(Math.abs(outer.spentUsd - total) < 1e-12, `outer ${outer.spentUsd} = both requests ${total}`);
      assert.ok(inner.spentUsd < outer.spentUsd);
    });
    const [stopped, completed] = otel.spans();
    assert.deepEqual(attr(stopped!, 'llm_cost.budget.names'), ['inner-nested', 'outer-nested']);
    assert.equal(attr(stopped!, 'llm_cost.budget.name'), 'inner-nested');
    assert.deepEqual(attr(completed!, 'llm_cost.budget.names'), ['outer-nested']);
    assert.equal(attr(completed!, 'llm_cost.stream.outcome'), 'completed');
  });

  it('a named budget accumulates across scopes (a session), has a per-model breakdown, and can be reset', async () => {
    for (let i = 0; i < 3; i++) {
      await withBudget({ maxUsd: 1, name: 'session-42' }, () => openai.chat.completions.create({ model, messages }, script({ outputTokens: 10 })));
    }
    await otel.settle(3);
    const session = getBudget('session-42')!;
    const total = costs.reduce((sum, c) => sum + (c.cost.source === 'unpriced' ? 0 : c.cost.totalUsd), 0);
    assert.ok(Math.abs(session.spentUsd - total) < 1e-12);
    assert.ok(Math.abs(session.remainingUsd - (1 - total)) < 1e-12);
    const [modelName, spend] = Object.entries(session.byModel)[0]!;
    assert.match(modelName, /^gpt-4o-mini/);
    assert.equal(spend.requests, 3);
    session.reset();
    assert.equal(session.spentUsd, 0);
    assert.deepEqual(session.byModel, {});
  });

  it('many parallel streams in one budget never overspend by more than the in-flight chunks', async () => {
    const perToken = outputUsdPerToken('openai', model);
    const streams = 20;
    const budget = await withBudget({ maxUsd: 0.002 }, async (budget) => {
      await Promise.all(
        Array.from({ length: streams }, async () => {
          const stream = await openai.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 2000, chunkDelayMs: 1 }));
          return drain(stream);
        }),
      );
      return budget;
    });
    await otel.settle(streams);
    const spans = otel.spans();
    const outcomes = new Set(spans.map((s) => attr(s, 'llm_cost.stream.outcome')));
    assert.ok(outcomes.has('budget_exceeded'));
    const maxChunkTokens = 4;
    const overspend = budget.spentUsd - budget.limitUsd;
    assert.ok(overspend <= streams * maxChunkTokens * perToken, `overspent by $${overspend}`);
    const total = costs.reduce((sum, c) => sum + (c.cost.source === 'unpriced' ? 0 : c.cost.totalUsd), 0);
    assert.ok(Math.abs(budget.spentUsd - total) < 1e-12, 'the budget holds exactly the spans’ costs');
    console.log(`# ${streams} parallel streams: limit $${budget.limitUsd}, spent $${budget.spentUsd.toFixed(7)}`);
  });
});

describe('clamp and fallback', () => {
  it('clampMaxTokens lowers the output limit to what the budget can pay for', async () => {
    const perToken = outputUsdPerToken('openai', model);
    await withBudget({ maxUsd: 0.00001 + 100 * perToken, clampMaxTokens: true }, async () => {
      const response = await openai.chat.completions.create({ model, messages }, script({ outputTokens: 1000 }));
      assert.ok(response.usage);
    });
    await withBudget({ maxUsd: 0.0001 + 100 * outputUsdPerToken('anthropic', 'claude-3-5-haiku-latest'), clampMaxTokens: true }, async () => {
      await anthropic.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 4000, messages }, script({ outputTokens: 1000 }));
    });
    const [chatBody, anthropicBody] = harness.emulator.requests.map((r) => r.body as Record<string, unknown>);
    const clamped = chatBody!.max_completion_tokens as number;
    assert.ok(clamped > 90 && clamped < 120, `chat clamped to ${clamped}`);
    assert.ok((anthropicBody!.max_tokens as number) < 200, 'anthropic max_tokens clamped');
    assert.equal(messages.length, 1, "the caller's objects are untouched");
    const [span] = await otel.settle(2);
    assert.equal(attr(span!, 'llm_cost.budget.clamped_max_tokens'), clamped);
    assert.equal(attr(span!, 'gen_ai.request.max_tokens'), clamped);
  });

  it('fallback: past the given share, requests for the model go to the cheaper one', async () => {
    const options = { name: 'fallback-budget', maxUsd: 0.001, fallback: { atShare: 0.5, model: 'gpt-4o-mini', from: 'gpt-4o' } };
    await withBudget(options, async () => {
      await openai.chat.completions.create({ model: 'gpt-4o', messages }, script({ outputTokens: 60 }));
    });
    await otel.settle(1);
    await withBudget(options, async () => {
      await openai.chat.completions.create({ model: 'gpt-4o', messages }, script({ outputTokens: 10 }));
    });
    const models = harness.emulator.requests.map((r) => (r.body as { model: string }).model);
    assert.deepEqual(models, ['gpt-4o', 'gpt-4o-mini']);
    const spans = await otel.settle(2);
    assert.equal(attr(spans[1]!, 'gen_ai.request.model'), 'gpt-4o-mini');
    assert.equal(attr(spans[1]!, 'llm_cost.budget.requested_model'), 'gpt-4o');
    assert.equal(attr(spans[0]!, 'llm_cost.budget.requested_model'), undefined);
  });
});

describe('budgets declared in the configuration', () => {
  it('a default budget and a budget per tenant from baggage, with no code around the calls', async () => {
    otel.instrumentation.setConfig({
      ...baseConfig,
      defaultBudget: { maxUsd: 5, name: 'service-wide' },
      keyedBudget: { baggageKey: 'tenant.id', namePrefix: 'tenant:', maxUsd: 0.0002 },
    });
    try {
      const asTenant = (tenant: string) => propagation.setBaggage(context.active(), propagation.createBaggage({ 'tenant.id': { value: tenant } }));
      const stopped = await context.with(asTenant('acme'), async () => {
        const stream = await openai.chat.completions.create({ model, messages, stream: true }, script({ outputTokens: 3000 }));
        return drain(stream);
      });
      assert.ok(stopped.error instanceof BudgetExceededError);
      assert.equal(stopped.error.budgetName, 'tenant:acme');
      const other = await context.with(asTenant('globex'), () => openai.chat.completions.create({ model, messages }, script({ outputTokens: 10 })));
      assert.ok(other.usage, 'another tenant has its own budget');
      await openai.chat.completions.create({ model, messages }, script({ outputTokens: 10 }));
      const spans = await otel.settle(3);
      // Spans end in the order their estimates finish, not in request order.
      assert.deepEqual(spans.map((s) => (attr(s, 'llm_cost.budget.names') as string[]).join(' < ')).sort(), [
        'service-wide',
        'tenant:acme < service-wide',
        'tenant:globex < service-wide',
      ]);
      assert.ok(getBudget('service-wide')!.spentUsd > getBudget('tenant:acme')!.spentUsd);
    } finally {
      otel.instrumentation.setConfig(baseConfig);
    }
  });

  it('a model priced only by priceOverrides is budgeted with those prices', async () => {
    otel.instrumentation.setConfig({
      ...baseConfig,
      priceOverrides: { 'acme-finetune-1': { inputPerMTok: 2, outputPerMTok: 8 } },
    });
    try {
      const { error } = await withBudget({ maxUsd: 0.0008 }, async () =>
        drain(await openai.chat.completions.create({ model: 'acme-finetune-1', messages, stream: true }, script({ outputTokens: 2000, chunkDelayMs: 1 }))),
      );
      assert.ok(error instanceof BudgetExceededError, `got ${String(error)}`);
      const span = onlySpan(await otel.settle());
      const output = attr(span, 'gen_ai.usage.output_tokens') as number;
      // $0.0008 at $8 per million output tokens, less the input: about 100 tokens.
      assert.ok(output > 80 && output < 105, `stopped at ${output} output tokens`);
      assert.equal(attr(span, 'llm_cost.cost.price_source'), 'override');
    } finally {
      otel.instrumentation.setConfig(baseConfig);
    }
  });

  it('new priceOverrides apply to the next request at once, though rates are kept per model', async () => {
    const stoppedAt = async (outputPerMTok: number): Promise<number> => {
      otel.instrumentation.setConfig({ ...baseConfig, priceOverrides: { 'acme-finetune-2': { inputPerMTok: 2, outputPerMTok } } });
      otel.reset();
      const { error } = await withBudget({ maxUsd: 0.0008 }, async () =>
        drain(await openai.chat.completions.create({ model: 'acme-finetune-2', messages, stream: true }, script({ outputTokens: 2000, chunkDelayMs: 1 }))),
      );
      assert.ok(error instanceof BudgetExceededError, `got ${String(error)}`);
      return attr(onlySpan(await otel.settle()), 'gen_ai.usage.output_tokens') as number;
    };
    try {
      const cheap = await stoppedAt(8);
      // Ten times the price, seconds later: the kept rates of the first override are not used.
      const dear = await stoppedAt(80);
      assert.ok(cheap > 80 && cheap < 105, `stopped at ${cheap} output tokens at $8/M`);
      assert.ok(dear > 2 && dear < 15, `stopped at ${dear} output tokens at $80/M`);
    } finally {
      otel.instrumentation.setConfig(baseConfig);
    }
  });

  it('invalid budget options fail at construction, naming the option', async () => {
    const { LLMCostInstrumentation } = await import('../src/index.js');
    assert.throws(() => new LLMCostInstrumentation({ defaultBudget: { maxUsd: -1 } }), /defaultBudget\.maxUsd/);
    assert.throws(() => new LLMCostInstrumentation({ keyedBudget: { maxUsd: 1 } }), /keyedBudget needs a baggageKey/);
    assert.throws(() => new LLMCostInstrumentation({ defaultBudget: { maxUsd: 1, fallback: { atShare: 2, model: 'x' } } }), /fallback\.atShare/);
    await assert.rejects(
      withBudget({ maxUsd: Number.NaN }, () => 1),
      /maxUsd/,
    );
  });
});
