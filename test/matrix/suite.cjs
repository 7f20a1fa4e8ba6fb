'use strict';
/**
 * The behaviour suite each matrix cell runs against one SDK version: every outcome
 * (completed, broken, cancelled, error), usage and cost with their sources, and the
 * user-visible result of every scenario compared with the same scenario run with the
 * instrumentation switched off. Real SDK over real HTTP against the emulator, real NodeSDK.
 *
 * Plain JavaScript on purpose: it runs unchanged under `require`, under the ESM loader and
 * inside an esbuild bundle, on Node 20, 22 and 24.
 */
const assert = require('node:assert/strict');

const MESSAGES = [{ role: 'user', content: 'Name three colours.' }];
const TEXT = 'Red, green and blue are three colours; violet, orange and yellow are three more of them.';

/**
 * @param {object} cell
 * @param {'openai' | 'anthropic'} cell.provider
 * @param {object} cell.sdk the SDK module as the app sees it (CJS exports or ESM namespace)
 * @param {ReturnType<import('./otel-harness.cjs')['startHarness']>} cell.otel
 * @param {object} cell.emulatorModule `otel-llm-cost/emulator`
 * @param {(client: object) => object} [cell.prepareClient] the manual path: `instrumentClient`
 * @param {() => void} cell.uninstrument turns the instrumentation off for the comparison run
 * @returns {Promise<{ passed: string[], failed: { name: string, error: string }[] }>}
 */
async function runSuite(cell) {
  const { provider, sdk, otel, emulatorModule } = cell;
  const emulator = await emulatorModule.startEmulator();
  const header = emulatorModule.EMULATOR_SCRIPT_HEADER;
  const script = (s) => ({ headers: { [header]: JSON.stringify(s) } });
  const prepare = cell.prepareClient ?? ((client) => client);
  const results = { passed: [], failed: [] };
  try {
    let instrumented = true;
    const makeClient = () =>
      (instrumented ? prepare : (client) => client)(
        provider === 'openai'
          ? new (sdkClass(sdk, 'OpenAI'))({ apiKey: 'matrix-key', baseURL: emulator.openaiBaseURL, maxRetries: 0 })
          : new (sdkClass(sdk, 'Anthropic'))({ apiKey: 'matrix-key', baseURL: emulator.anthropicBaseURL, maxRetries: 0 }),
      );
    const client = makeClient();
    const scenarios = provider === 'openai' ? openaiScenarios(client, script) : anthropicScenarios(client, script);

    // 1. Instrumented: what the user sees, and the one span each request gets.
    const seen = new Map();
    for (const scenario of scenarios) {
      await check(results, scenario.name, async () => {
        // A span the previous scenario left (it failed before settling) is not this one's.
        await otel.instrumentation.flush();
        otel.reset();
        const observed = await scenario.run();
        seen.set(scenario.name, observed);
        const [span, ...extra] = await otel.settle(1);
        assert.ok(span, 'the request has a span');
        assert.equal(extra.length, 0, 'exactly one span per request');
        scenario.expect(span, observed);
        if (provider === 'anthropic') {
          const native = otel.others().filter((s) => s.name === 'anthropic.messages.create');
          assert.equal(native.length, 0, "the SDK's own request span is suppressed by default");
        }
      });
    }
    await check(results, "a stream cut, then only the tracer provider's forceFlush(): its span is exported", async () => {
      await otel.instrumentation.flush();
      otel.reset();
      const cut = scenarios.find((scenario) => scenario.name.endsWith('stream, break'));
      await cut.run();
      await otel.forceFlushTraces();
      assert.equal(otel.ours().length, 1, 'the cut stream is exported by forceFlush() alone');
      assert.equal(otel.ours()[0].attributes['llm_cost.stream.outcome'], 'broken');
    });
    await check(results, 'metric llm_cost.spend', async () => {
      assert.ok((await otel.metricSum('llm_cost.spend')) > 0, 'spend recorded');
    });
    if (provider === 'anthropic' && typeof client._tracer === 'object') {
      await check(results, 'suppressed SDK span: traceparent still names our span', async () => {
        otel.reset();
        await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: MESSAGES }, script({ text: TEXT }));
        const [span] = await otel.settle(1);
        const traceparent = String(emulator.requests.at(-1).headers.traceparent ?? '');
        const { traceId, spanId } = span.spanContext();
        assert.equal(traceparent.split('-')[1], traceId, `traceparent ${traceparent}`);
        assert.equal(traceparent.split('-')[2], spanId, 'the parent is our span');
      });
      await check(results, "anthropicNativeSpans 'keep'", async () => {
        const config = otel.instrumentation.getConfig();
        otel.instrumentation.setConfig({ ...config, anthropicNativeSpans: 'keep' });
        try {
          otel.reset();
          await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, messages: MESSAGES }, script({ text: TEXT }));
          await otel.settle(1);
          const native = otel.others().filter((s) => s.name === 'anthropic.messages.create');
          assert.equal(native.length, 1, "with 'keep' the SDK's own span is there");
          assert.equal(otel.ours().length, 1, 'and ours, once');
        } finally {
          otel.instrumentation.setConfig(config);
        }
      });
    }

    // 2. The same scenarios without the instrumentation: the user must see exactly the same.
    cell.uninstrument();
    instrumented = false;
    const plain = makeClient();
    const plainScenarios = provider === 'openai' ? openaiScenarios(plain, script) : anthropicScenarios(plain, script);
    for (const scenario of plainScenarios) {
      await check(results, `${scenario.name}: unchanged for the user`, async () => {
        otel.reset();
        const observed = await scenario.run();
        assert.deepEqual(observed, seen.get(scenario.name));
        await otel.instrumentation.flush();
        assert.equal(otel.ours().length, 0, 'no span once switched off');
      });
    }
  } finally {
    await emulator.stop();
  }
  return results;
}

async function check(results, name, body) {
  try {
    await body();
    results.passed.push(name);
  } catch (error) {
    results.failed.push({ name, error: String(error?.stack ? error.stack : error) });
  }
}

function sdkClass(sdk, name) {
  const candidate = sdk[name] ?? sdk.default?.[name] ?? sdk.default ?? sdk;
  if (typeof candidate !== 'function') throw new Error(`no ${name} class in the SDK module`);
  return candidate;
}

/** Drops what differs between two otherwise identical responses (ids, timestamps). */
function normalize(value) {
  return JSON.parse(
    JSON.stringify(value, (key, v) =>
      ['id', 'created', 'created_at', 'system_fingerprint', '_request_id', 'request_id', 'item_id', 'response_id'].includes(key) ? undefined : v,
    ) ?? 'null',
  );
}

function errorShape(error) {
  if (!error) return undefined;
  return { class: error.constructor?.name, status: error.status };
}

/** Reads a stream the way an app does; `stop` decides when it breaks or aborts. */
async function read(stream, { breakAfter, abortAfter, controller } = {}) {
  const chunks = [];
  let error;
  try {
    for await (const chunk of stream) {
      chunks.push(normalize(chunk));
      if (chunks.length === breakAfter) break;
      if (chunks.length === abortAfter) {
        controller.abort();
        break;
      }
    }
  } catch (caught) {
    error = errorShape(caught);
  }
  return { chunks, error };
}

function attr(span, name) {
  return span.attributes[name];
}

function expectRecord(span, { outcome, input, output, cost }) {
  assert.equal(attr(span, 'llm_cost.stream.outcome'), outcome, 'outcome');
  if (input) assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), input, 'input source');
  if (output) assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), output, 'output source');
  if (cost) {
    assert.equal(attr(span, 'llm_cost.cost.source'), cost, 'cost source');
    assert.ok(attr(span, 'llm_cost.cost.usd') > 0, 'a cost');
  }
  assert.ok(attr(span, 'gen_ai.usage.input_tokens') >= 0, 'input tokens');
  assert.equal(typeof attr(span, 'server.address'), 'string', 'server.address');
  assert.equal(typeof attr(span, 'server.port'), 'number', 'server.port');
}

function openaiScenarios(client, script) {
  const chat = (body, s, options = {}) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES, ...body }, { ...script(s), ...options });
  const scenarios = [
    {
      name: 'chat stream read to the end',
      run: async () => read(await chat({ stream: true }, { text: TEXT })),
      expect: (span, seen) => {
        expectRecord(span, { outcome: 'completed', input: 'reported', output: 'reported', cost: 'reported' });
        assert.equal(attr(span, 'llm_cost.stream.chunks'), seen.chunks.length, 'chunks counted as the user saw them');
        assert.ok(
          seen.chunks.every((c) => c.choices.length > 0 && !('usage' in c)),
          'no injected usage chunk or field reaches the user',
        );
      },
    },
    {
      name: 'chat stream, break',
      run: async () => read(await chat({ stream: true }, { text: TEXT }), { breakAfter: 3 }),
      expect: (span) => expectRecord(span, { outcome: 'broken', input: 'estimated', output: 'estimated', cost: 'estimated' }),
    },
    {
      name: 'chat stream, AbortSignal',
      run: async () => {
        const controller = new AbortController();
        return read(await chat({ stream: true }, { text: TEXT }, { signal: controller.signal }), { abortAfter: 3, controller });
      },
      expect: (span) => expectRecord(span, { outcome: 'cancelled', input: 'estimated', output: 'estimated', cost: 'estimated' }),
    },
    {
      name: 'chat stream, connection dropped',
      run: async () => read(await chat({ stream: true }, { text: TEXT, dropAfterChunks: 4 })),
      expect: (span, seen) => {
        assert.ok(seen.error, 'the user sees the error');
        expectRecord(span, { outcome: 'error', output: 'estimated', cost: 'estimated' });
      },
    },
    {
      name: 'chat, not streamed, withResponse()',
      run: async () => {
        const { data, response } = await chat({}, { text: TEXT }).withResponse();
        return { data: normalize(data), status: response.status };
      },
      expect: (span) => expectRecord(span, { outcome: 'completed', input: 'reported', output: 'reported', cost: 'reported' }),
    },
    {
      name: 'chat, HTTP 500',
      run: async () => {
        try {
          await chat({}, { status: 500 });
          return { error: undefined };
        } catch (error) {
          return { error: errorShape(error) };
        }
      },
      expect: (span, seen) => {
        assert.equal(seen.error?.status, 500);
        expectRecord(span, { outcome: 'error' });
      },
    },
  ];
  if (typeof client.responses?.create === 'function') {
    scenarios.push({
      name: 'responses stream read to the end',
      run: async () => {
        const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'Name three colours.', stream: true }, script({ text: TEXT }));
        return read(stream);
      },
      expect: (span) => expectRecord(span, { outcome: 'completed', input: 'reported', output: 'reported', cost: 'reported' }),
    });
  }
  return scenarios;
}

function anthropicScenarios(client, script) {
  const create = (body, s, options = {}) =>
    client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 256, messages: MESSAGES, ...body }, { ...script(s), ...options });
  return [
    {
      name: 'messages stream read to the end',
      run: async () => read(await create({ stream: true }, { text: TEXT })),
      expect: (span, seen) => {
        expectRecord(span, { outcome: 'completed', input: 'reported', output: 'reported', cost: 'reported' });
        assert.equal(attr(span, 'llm_cost.stream.chunks'), seen.chunks.length, 'chunks counted as the user saw them');
      },
    },
    {
      name: 'messages stream, break',
      run: async () => read(await create({ stream: true }, { text: TEXT }), { breakAfter: 3 }),
      expect: (span) => expectRecord(span, { outcome: 'broken', input: 'reported', output: 'estimated', cost: 'estimated' }),
    },
    {
      name: 'messages stream, AbortSignal',
      run: async () => {
        const controller = new AbortController();
        return read(await create({ stream: true }, { text: TEXT }, { signal: controller.signal }), { abortAfter: 3, controller });
      },
      expect: (span) => expectRecord(span, { outcome: 'cancelled', input: 'reported', output: 'estimated', cost: 'estimated' }),
    },
    {
      name: 'messages stream, error event',
      run: async () => read(await create({ stream: true }, { text: TEXT, errorAfterChunks: 4 })),
      expect: (span, seen) => {
        assert.ok(seen.error, 'the user sees the error');
        expectRecord(span, { outcome: 'error', input: 'reported', output: 'estimated', cost: 'estimated' });
      },
    },
    {
      name: 'messages, not streamed, withResponse()',
      run: async () => {
        const { data, response } = await create({}, { text: TEXT }).withResponse();
        return { data: normalize(data), status: response.status };
      },
      expect: (span) => expectRecord(span, { outcome: 'completed', input: 'reported', output: 'reported', cost: 'reported' }),
    },
    {
      name: 'messages.stream() helper, finalMessage()',
      run: async () => {
        const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 256, messages: MESSAGES }, script({ text: TEXT }));
        return { message: normalize(await stream.finalMessage()) };
      },
      expect: (span) => expectRecord(span, { outcome: 'completed', input: 'reported', output: 'reported', cost: 'reported' }),
    },
    {
      name: 'messages, HTTP 500',
      run: async () => {
        try {
          await create({}, { status: 500 });
          return { error: undefined };
        } catch (error) {
          return { error: errorShape(error) };
        }
      },
      expect: (span, seen) => {
        assert.equal(seen.error?.status, 500);
        expectRecord(span, { outcome: 'error' });
      },
    },
  ];
}

/** Prints the cell's result as one JSON line (read by scripts/matrix.mjs) and sets the exit code. */
function report(cellName, results) {
  process.stdout.write(`MATRIX-RESULT ${JSON.stringify({ cell: cellName, ...results })}\n`);
  process.exitCode = results.failed.length === 0 && results.passed.length > 0 ? 0 : 1;
}

module.exports = { runSuite, report };
