/**
 * Charging your own users with `onCost`: one call per request with its final tokens and
 * USD cost, each marked `reported` or `estimated`, whether the stream completed or not.
 * Here tenant "acme" reads its answer to the end and tenant "globex" cancels after a few
 * chunks; both are charged. Without the estimate, globex's request would be free.
 *
 *   npm run build && node examples/bill-your-users.cjs
 *
 * `onCost` gets the request's `traceId`; the app remembers which tenant each trace
 * belongs to (here: the span it opens per tenant request, as an HTTP server span would).
 */
'use strict';

const { NodeSDK, api, tracing } = require('@opentelemetry/sdk-node');
const { LLMCostInstrumentation } = require('otel-llm-cost');

/** tenant per trace id, set when a tenant's request starts. */
const tenantOfTrace = new Map();
/** The ledger: what each tenant owes, with the source of every charge. */
const ledger = [];

function charge(record) {
  const tenant = tenantOfTrace.get(record.traceId) ?? 'unattributed';
  if (record.cost.source === 'unpriced') {
    // No price for this model: never charge a made-up zero; flag it for review.
    ledger.push({ tenant, record, usd: undefined, note: 'unpriced: review by hand' });
    return;
  }
  ledger.push({ tenant, record, usd: record.cost.totalUsd, note: record.cost.source });
}

const instrumentation = new LLMCostInstrumentation({ onCost: charge });
const sdk = new NodeSDK({
  serviceName: 'bill-your-users',
  // Billing needs no exporter (onCost gets every record), but it needs a registered tracer
  // provider: without one, spans are no-ops and every trace id is zeros. Export as usual
  // in an app; here spans are dropped and metrics not exported, to stay offline.
  spanProcessors: [new tracing.NoopSpanProcessor()],
  metricReaders: [],
  instrumentations: [instrumentation],
});
sdk.start();

const { OpenAI } = require('openai');
const { startEmulator, scriptHeaders } = require('otel-llm-cost/emulator');

const tracer = api.trace.getTracer('bill-your-users');

/** Runs `work` as one tenant request: a span whose trace id maps to the tenant. */
function asTenant(tenant, work) {
  return tracer.startActiveSpan(`request from ${tenant}`, async (span) => {
    tenantOfTrace.set(span.spanContext().traceId, tenant);
    try {
      return await work();
    } finally {
      span.end();
    }
  });
}

async function main() {
  const emulator = await startEmulator();
  try {
    const client = new OpenAI({ apiKey: 'example-key', baseURL: emulator.openaiBaseURL });
    const ask = (signal) =>
      client.chat.completions.create(
        {
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Draft a 300-word product description for a rain jacket.' }],
          stream: true,
        },
        { ...scriptHeaders({ outputTokens: 300, chunkDelayMs: 1 }), signal }, // emulator only: length and pace
      );

    await asTenant('acme', async () => {
      const stream = await ask();
      for await (const _chunk of stream) {
        // read to the end
      }
    });

    await asTenant('globex', async () => {
      const controller = new AbortController();
      const stream = await ask(controller.signal);
      let chunks = 0;
      for await (const _chunk of stream) {
        if (++chunks === 30) controller.abort(); // the user pressed "stop"
      }
    });
  } finally {
    await emulator.stop();
  }
  await instrumentation.flush(); // every finished request has reached onCost

  console.log('tenant  outcome    input tokens   output tokens  charge (USD)');
  for (const { tenant, record, usd, note } of ledger) {
    const tokens = (u) => `${String(u.value).padStart(4)} ${u.source.padEnd(9)}`;
    const amount = usd === undefined ? '-' : `$${usd.toFixed(7)}`;
    console.log(`${tenant.padEnd(7)} ${record.outcome.padEnd(10)} ${tokens(record.usage.input)}  ${tokens(record.usage.output)}  ${amount} (${note})`);
  }
  const totals = new Map();
  for (const { tenant, usd } of ledger) totals.set(tenant, (totals.get(tenant) ?? 0) + (usd ?? 0));
  for (const [tenant, usd] of totals) console.log(`total for ${tenant}: $${usd.toFixed(7)}`);
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
