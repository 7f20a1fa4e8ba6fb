/**
 * Spend caps that hold while the tokens arrive.
 *
 *   npm run build && node examples/budget-caps.cjs
 *
 * 1. `withBudget`: a stream that would cost far more than its budget is stopped as soon as
 *    it crosses the limit. The HTTP request is aborted (the provider stops generating),
 *    the chunks already read stay read, and the loop's next iteration throws
 *    `BudgetExceededError`. The budget's spend ends at the limit, give or take a chunk.
 * 2. The same budget, now spent, refuses the next request before it is sent.
 * 3. A budget per tenant from the configuration (`keyedBudget`, keyed by a baggage entry),
 *    with no code around the calls.
 */
'use strict';

const { NodeSDK, api, tracing } = require('@opentelemetry/sdk-node');
const { LLMCostInstrumentation, withBudget, getBudget, BudgetExceededError } = require('otel-llm-cost');

const instrumentation = new LLMCostInstrumentation({
  // Each tenant gets $0.00005 a day, read from the `tenant.id` baggage entry.
  keyedBudget: { baggageKey: 'tenant.id', namePrefix: 'tenant:', maxUsd: 0.00005, window: 'day' },
});
const sdk = new NodeSDK({
  serviceName: 'budget-caps',
  spanProcessors: [new tracing.NoopSpanProcessor()],
  metricReaders: [],
  instrumentations: [instrumentation],
});
sdk.start();

const { OpenAI } = require('openai');
const { startEmulator, scriptHeaders } = require('otel-llm-cost/emulator');

const model = 'gpt-4o-mini';
const messages = [{ role: 'user', content: 'Write a long story about a lighthouse keeper.' }];

async function main() {
  const emulator = await startEmulator();
  const client = new OpenAI({ apiKey: 'example-key', baseURL: emulator.openaiBaseURL, maxRetries: 0 });
  // The emulator answers with 5,000 tokens, paced like a provider.
  const longAnswer = scriptHeaders({ outputTokens: 5000, chunkDelayMs: 1 });
  try {
    // 1 + 2: a session budget of $0.0001 (about 160 output tokens of gpt-4o-mini).
    await withBudget({ name: 'session-42', maxUsd: 0.0001 }, async () => {
      let chunks = 0;
      try {
        const stream = await client.chat.completions.create({ model, messages, stream: true }, longAnswer);
        for await (const _chunk of stream) chunks++;
      } catch (error) {
        if (!(error instanceof BudgetExceededError)) throw error;
        console.log(`1. stopped mid-stream after ${chunks} chunks: ${error.message}`);
      }
      try {
        await client.chat.completions.create({ model, messages }, longAnswer);
      } catch (error) {
        if (!(error instanceof BudgetExceededError)) throw error;
        console.log(`2. refused before sending (reason ${error.reason}); requests the emulator saw: ${emulator.requests.length}`);
      }
    });
    // withBudget resolves once its requests are priced: the figures are final here.
    const session = getBudget('session-42');
    console.log(`   session-42: limit $${session.limitUsd}, spent $${session.spentUsd.toFixed(7)}, by model ${JSON.stringify(session.byModel)}`);
    // The provider learns of the abort a moment later, over the network: wait for it to finish.
    const stopped = await emulator.waitForRequestEnd(emulator.requests[0].id);
    console.log(`   the provider saw the client go away: ${stopped.clientClosedEarly} (sent ${stopped.outputTokensSent} of 5000 tokens)`);

    // 3: tenants capped by the configuration alone.
    for (const tenant of ['acme', 'acme', 'globex']) {
      const baggage = api.propagation.createBaggage({ 'tenant.id': { value: tenant } });
      await api.context.with(api.propagation.setBaggage(api.context.active(), baggage), async () => {
        try {
          const stream = await client.chat.completions.create({ model, messages, stream: true }, longAnswer);
          for await (const _chunk of stream) {
            // read until the tenant's budget stops it
          }
        } catch (error) {
          if (!(error instanceof BudgetExceededError)) throw error;
          console.log(`3. tenant ${tenant}: ${error.reason} stop by budget "${error.budgetName}"`);
        }
      });
    }
  } finally {
    await instrumentation.flush();
    await emulator.stop();
  }
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => sdk.shutdown());
