#!/usr/bin/env node
/**
 * `npm run demo`: one short workload through the real `openai` and `@anthropic-ai/sdk`
 * clients, instrumented by otel-llm-cost inside a real OpenTelemetry NodeSDK, then a
 * table of what each request cost, and whether each number was reported by the
 * provider or estimated locally.
 *
 *   npm run demo                  offline, against the embedded provider emulator
 *   npm run demo -- --live        the real APIs (needs OPENAI_API_KEY and/or ANTHROPIC_API_KEY;
 *                                 a provider whose key is missing is skipped)
 */
'use strict';

const { NodeSDK, metrics, tracing } = require('@opentelemetry/sdk-node');
const { LLMCostInstrumentation, withBudget, BudgetExceededError } = require('otel-llm-cost');
const { startEmulator, scriptHeaders } = require('otel-llm-cost/emulator');

const LIVE = process.argv.includes('--live');

// 1. OpenTelemetry first, with the instrumentation registered in it.
const records = [];
const instrumentation = new LLMCostInstrumentation({ onCost: (record) => records.push(record) });

/** A pull-only metric reader: the demo reads `llm_cost.spend` back once, at the end. */
class OnDemandMetricReader extends metrics.MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}
const metricReader = new OnDemandMetricReader();
const spanExporter = new tracing.InMemorySpanExporter();
const sdk = new NodeSDK({
  serviceName: 'otel-llm-cost-demo',
  spanProcessors: [new tracing.SimpleSpanProcessor(spanExporter)],
  metricReaders: [metricReader],
  instrumentations: [instrumentation],
});
sdk.start();

// 2. The SDKs after sdk.start(), so the instrumentation's require hook sees them load.
const { OpenAI } = require('openai');
const { Anthropic } = require('@anthropic-ai/sdk');

const PROMPT = 'Write a short story (about 150 words) about a lighthouse keeper who finds a message in a bottle.';
const MAX_TOKENS = 400;

/**
 * The workload: the same six ways a request can end, for each provider (the last: a
 * budget that pays for about 60 output tokens stops a long stream mid-way). `emulator` is the
 * script sent to the embedded emulator in the `x-emulator-script` header (ignored live).
 */
const openaiScenarios = [
  {
    name: 'stream, read to the end',
    emulator: { outputTokens: 150 },
    run: (c, opts) => drain(c.chat.completions.create(openaiBody(true), opts)),
  },
  {
    name: 'stream, break after 5 chunks',
    emulator: { outputTokens: 300 },
    run: (c, opts) => readThenBreak(c.chat.completions.create(openaiBody(true), opts), 5),
  },
  {
    name: 'stream, AbortSignal after 8',
    emulator: { outputTokens: 300, chunkDelayMs: 2 },
    run: (c, opts) => readThenAbort((signal) => c.chat.completions.create(openaiBody(true), { ...opts, signal }), 8),
  },
  {
    name: LIVE ? 'stream, connection cut' : 'stream, connection dropped',
    emulator: { outputTokens: 300, dropAfterChunks: 10 },
    failing: true,
    run: (c, opts) => drain(c.chat.completions.create(openaiBody(true), opts)),
  },
  {
    name: 'non-streaming',
    emulator: { outputTokens: 60 },
    run: (c, opts) => c.chat.completions.create(openaiBody(false, 100), opts),
  },
  {
    name: 'stream, budget stops it',
    emulator: { outputTokens: 1000, chunkDelayMs: 1 },
    budget: { name: 'demo-openai', maxUsd: 0.00004 },
    run: (c, opts) => drain(c.chat.completions.create(openaiBody(true), opts)),
  },
];

const anthropicScenarios = [
  {
    name: 'stream, read to the end',
    emulator: { outputTokens: 150 },
    run: (c, opts) => drain(c.messages.create(anthropicBody(true), opts)),
  },
  {
    name: 'stream, break after 5 chunks',
    emulator: { outputTokens: 300 },
    run: (c, opts) => readThenBreak(c.messages.create(anthropicBody(true), opts), 5),
  },
  {
    name: 'stream, AbortSignal after 8',
    emulator: { outputTokens: 300, chunkDelayMs: 2 },
    run: (c, opts) => readThenAbort((signal) => c.messages.create(anthropicBody(true), { ...opts, signal }), 8),
  },
  {
    name: LIVE ? 'stream, connection cut' : 'stream, error event',
    emulator: { outputTokens: 300, errorAfterChunks: 10, errorType: 'overloaded_error', errorMessage: 'Overloaded' },
    failing: true,
    run: (c, opts) => drain(c.messages.create(anthropicBody(true), opts)),
  },
  {
    name: 'non-streaming',
    emulator: { outputTokens: 60 },
    run: (c, opts) => c.messages.create(anthropicBody(false, 100), opts),
  },
  {
    name: 'stream, budget stops it',
    emulator: { outputTokens: 1000, chunkDelayMs: 1 },
    budget: { name: 'demo-anthropic', maxUsd: 0.00035 },
    run: (c, opts) => drain(c.messages.create(anthropicBody(true), opts)),
  },
];

function openaiBody(stream, maxTokens = MAX_TOKENS) {
  return {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a concise storyteller.' },
      { role: 'user', content: PROMPT },
    ],
    max_tokens: maxTokens,
    ...(stream ? { stream: true } : {}),
  };
}

function anthropicBody(stream, maxTokens = MAX_TOKENS) {
  return {
    model: 'claude-haiku-4-5',
    system: 'You are a concise storyteller.',
    messages: [{ role: 'user', content: PROMPT }],
    max_tokens: maxTokens,
    ...(stream ? { stream: true } : {}),
  };
}

async function drain(request) {
  const stream = await request;
  for await (const _chunk of stream) {
    // read every chunk
  }
}

async function readThenBreak(request, chunks) {
  const stream = await request;
  let seen = 0;
  for await (const _chunk of stream) {
    if (++seen >= chunks) break;
  }
}

async function readThenAbort(start, chunks) {
  const controller = new AbortController();
  const stream = await start(controller.signal);
  let seen = 0;
  // After abort() the SDKs end the loop quietly: no error, just no more chunks.
  for await (const _chunk of stream) {
    if (++seen === chunks) controller.abort();
  }
}

/**
 * Live only: a fetch that cuts the response body after a few reads, the way a dropped
 * connection does, since the real APIs cannot be scripted to fail.
 */
function fetchCuttingBodyAfter(reads) {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (!response.body) return response;
    const source = response.body.getReader();
    let count = 0;
    const body = new ReadableStream({
      async pull(controller) {
        if (count++ >= reads) {
          source.cancel().catch(() => {});
          controller.error(new TypeError('terminated (the demo cut the connection)'));
          return;
        }
        const { done, value } = await source.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return source.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

async function main() {
  const providers = [];
  let emulator;
  if (LIVE) {
    if (process.env.OPENAI_API_KEY) providers.push('openai');
    else console.log('OPENAI_API_KEY is not set: skipping OpenAI.');
    if (process.env.ANTHROPIC_API_KEY) providers.push('anthropic');
    else console.log('ANTHROPIC_API_KEY is not set: skipping Anthropic.');
    if (providers.length === 0) {
      console.error('--live needs OPENAI_API_KEY and/or ANTHROPIC_API_KEY.');
      process.exitCode = 1;
      return;
    }
  } else {
    emulator = await startEmulator();
    providers.push('openai', 'anthropic');
  }

  const makeClient = (provider, failing) => {
    const options = LIVE ? { ...(failing ? { fetch: fetchCuttingBodyAfter(4) } : {}) } : { apiKey: 'demo-key', maxRetries: 0 };
    if (provider === 'openai') return new OpenAI({ ...options, ...(emulator ? { baseURL: emulator.openaiBaseURL } : {}) });
    return new Anthropic({ ...options, ...(emulator ? { baseURL: emulator.anthropicBaseURL } : {}) });
  };

  const rows = [];
  try {
    console.log(
      LIVE
        ? `Running the workload against the live APIs (${providers.join(', ')})...`
        : 'Running the workload against the embedded provider emulator (no network)...',
    );
    for (const provider of providers) {
      const scenarios = provider === 'openai' ? openaiScenarios : anthropicScenarios;
      for (const scenario of scenarios) {
        const client = makeClient(provider, scenario.failing);
        const requestOptions = LIVE ? {} : scriptHeaders(scenario.emulator);
        let failure;
        try {
          if (scenario.budget) await withBudget(scenario.budget, () => scenario.run(client, requestOptions));
          else await scenario.run(client, requestOptions);
        } catch (error) {
          failure = error;
        }
        if (failure && !scenario.failing && !(scenario.budget && failure instanceof BudgetExceededError)) throw failure;
        await instrumentation.flush();
        const found = records.splice(0);
        if (found.length !== 1) process.exitCode = 1;
        rows.push({ provider, scenario: scenario.name, record: found[0] });
      }
    }
  } finally {
    if (emulator) await emulator.stop();
  }

  await instrumentation.flush();
  const { resourceMetrics } = await metricReader.collect();
  const ourSpans = spanExporter.getFinishedSpans().filter((span) => scopeName(span) === 'otel-llm-cost');
  printTable(rows, spendFrom(resourceMetrics), ourSpans.length);
}

// ---------------------------------------------------------------- output

function printTable(rows, spend, spanCount) {
  const records = rows.map((r) => r.record).filter(Boolean);
  const usd = (value) => `$${value.toFixed(7)}`;
  // "  39 reported " / "1234 estimated": numbers right-aligned, sources left-aligned.
  const digits = Math.max(...records.flatMap((r) => [r.usage.input.value, r.usage.output.value]).map((n) => String(n).length));
  const tokens = (usage) => `${String(usage.value).padStart(digits)} ${usage.source}`;
  const header = ['provider', 'model', 'scenario', 'outcome', 'chunks', 'input tokens', 'output tokens', 'cost (USD)'];
  const body = rows.map(({ provider, scenario, record }) => {
    if (!record) return [provider, '', scenario, '(no record)', '', '', '', ''];
    return [
      provider,
      record.requestModel ?? '',
      scenario,
      record.outcome,
      record.stream ? String(record.chunks) : '-',
      tokens(record.usage.input),
      tokens(record.usage.output),
      record.cost.source === 'unpriced' ? 'unpriced' : `${usd(record.cost.totalUsd)} ${record.cost.source}`,
    ];
  });

  // USD split by the source of the tokens it was priced from (as the llm_cost.spend metric splits it).
  const split = { reported: 0, estimated: 0, total: 0 };
  for (const r of records) {
    if (r.cost.source === 'unpriced') continue;
    split[r.usage.input.source] += r.cost.inputUsd;
    split[r.usage.output.source] += r.cost.outputUsd;
    split.total += r.cost.totalUsd;
  }
  const tokenSum = (kind) => records.reduce((n, r) => n + r.usage[kind].value, 0);
  const footer = [
    'total',
    '',
    `${rows.length} requests`,
    '',
    '',
    `${String(tokenSum('input')).padStart(digits)} ${' '.repeat('estimated'.length)}`,
    `${String(tokenSum('output')).padStart(digits)} ${' '.repeat('estimated'.length)}`,
    usd(split.total),
  ];

  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length), footer[i].length));
  const rightAligned = new Set([4]);
  const line = (cells) =>
    cells
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');

  console.log('');
  console.log(line(header));
  console.log(rule);
  for (const row of body) console.log(line(row));
  console.log(rule);
  console.log(line(footer));
  console.log('');
  console.log(`  ${usd(split.reported)} of the total is priced from reported tokens, ${usd(split.estimated)} from estimated ones.`);
  console.log("  reported  = the provider's own numbers (the usage in its response or final stream events);");
  console.log('  estimated = counted locally with js-tiktoken from the request sent and the text received,');
  console.log("              because a stream cut short never gets the provider's usage.");
  console.log('');
  for (const r of records) {
    if (r.outcome !== 'budget_exceeded' || !r.budget) continue;
    console.log(
      `  budget "${r.budget.name}" (${usd(r.budget.limitUsd)}) stopped the ${r.provider} stream after ${r.chunks} chunks ` +
        `with BudgetExceededError; spent ${usd(r.budget.spentUsd)}.`,
    );
  }
  console.log('');
  console.log(
    `  ${spanCount} spans written; metric llm_cost.spend = ${usd(spend.total)} ` + `(reported ${usd(spend.reported)}, estimated ${usd(spend.estimated)}).`,
  );
}

/** Sums the `llm_cost.spend` counter's points, by `llm_cost.source`. */
function spendFrom(resourceMetrics) {
  const spend = { total: 0, reported: 0, estimated: 0 };
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== 'llm_cost.spend') continue;
      for (const point of metric.dataPoints) {
        spend.total += point.value;
        const source = point.attributes['llm_cost.source'];
        if (source === 'reported' || source === 'estimated') spend[source] += point.value;
      }
    }
  }
  return spend;
}

function scopeName(span) {
  return (span.instrumentationScope ?? span.instrumentationLibrary)?.name;
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() =>
    sdk.shutdown().catch((error) => {
      console.error(`OpenTelemetry shutdown failed: ${error.message}`);
      process.exitCode = 1;
    }),
  );
