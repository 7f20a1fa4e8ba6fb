/**
 * The Vercel AI SDK (`ai` with `@ai-sdk/openai` and `@ai-sdk/anthropic`) through
 * `costFetch()`, against the emulator: the same outcomes as through the providers' SDKs, the
 * same chunks and bytes with and without the wrapper, and the AI SDK's own telemetry spans
 * around ours without counting anything twice. Two lines: ai 7 (current) and ai 6 (aliases
 * `ai-v6`, `ai-sdk-openai-v3`, `ai-sdk-anthropic-v3`).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { costFetch } from '../src/index.js';
import { scriptHeaders, type EmulatorScript } from '../src/emulator/index.js';
import type { FetchFunction } from '../src/fetch/recorder.js';
import { sumPoints } from './helpers/otel.js';
import { useHarness } from './helpers/harness.js';
import { readBytes, sameIds } from './helpers/raw-bodies.js';
import { assertCost, attr, onlySpan } from './helpers/spans.js';

const IDLE_MS = 1000;
const harness = useHarness({ abandonedTimeoutMs: IDLE_MS });
const { otel } = harness;
const requireHere = createRequire(__filename);

// biome-ignore lint/suspicious/noExplicitAny: the AI SDK's two major lines have different types.
type AnyFunction = (...args: any[]) => any;
interface Line {
  readonly name: string;
  readonly ai: string;
  readonly openai: string;
  readonly anthropic: string;
  /** How this line turns on its OpenTelemetry spans. */
  readonly telemetry: () => Record<string, unknown>;
}

const lines: Line[] = [
  {
    name: 'ai 7',
    ai: 'ai',
    openai: '@ai-sdk/openai',
    anthropic: '@ai-sdk/anthropic',
    telemetry: () => {
      const { registerTelemetry } = requireHere('ai') as { registerTelemetry: AnyFunction };
      const { OpenTelemetry } = requireHere('@ai-sdk/otel') as { OpenTelemetry: new () => unknown };
      if (!registeredOtel) {
        registerTelemetry(new OpenTelemetry());
        registeredOtel = true;
      }
      return { telemetry: { isEnabled: true } };
    },
  },
  {
    name: 'ai 6',
    ai: 'ai-v6',
    openai: 'ai-sdk-openai-v3',
    anthropic: 'ai-sdk-anthropic-v3',
    telemetry: () => ({ experimental_telemetry: { isEnabled: true } }),
  },
];
let registeredOtel = false;

/** Wraps `inner` to keep a copy of every body the AI SDK receives (test only: a tee buffers). */
function capturing(inner: FetchFunction, into: Promise<Buffer>[]): FetchFunction {
  return async (input, init) => {
    const response = await inner(input, init);
    if (!response.body) return response;
    const [copy, passed] = response.body.tee();
    into.push(readBytes(copy));
    return new Response(passed, response);
  };
}

/** The parts of a stream, with what the emulator draws at random (ids, times, headers) set aside. */
function comparable(parts: unknown[]): string {
  const drop = new Set(['timestamp', 'headers', 'request', 'id', 'itemId', 'responseId', 'performance']);
  return sameIds(JSON.stringify(parts, (key, value: unknown) => (drop.has(key) ? undefined : value)));
}

for (const line of lines) {
  describe(`${line.name} streamText through costFetch`, () => {
    const { streamText } = requireHere(line.ai) as { streamText: AnyFunction };
    const { createOpenAI } = requireHere(line.openai) as { createOpenAI: AnyFunction };
    const { createAnthropic } = requireHere(line.anthropic) as { createAnthropic: AnyFunction };
    const models = (fetch: FetchFunction) => {
      const openai = createOpenAI({ apiKey: 'k', baseURL: harness.emulator.openaiBaseURL, fetch });
      const anthropic = createAnthropic({ apiKey: 'k', baseURL: `${harness.emulator.anthropicBaseURL}/v1`, fetch });
      return {
        'openai responses': openai('gpt-4o-mini'),
        'openai chat': openai.chat('gpt-4o-mini'),
        'anthropic messages': anthropic('claude-sonnet-4-5'),
      } as Record<string, unknown>;
    };
    const wrapper = () => costFetch(undefined, { baseURLs: [harness.emulator.openaiBaseURL, harness.emulator.anthropicBaseURL] });
    const run = (model: unknown, s: EmulatorScript, extra: Record<string, unknown> = {}) =>
      streamText({ model, prompt: 'Tell me a story.', headers: scriptHeaders(s).headers, maxRetries: 0, onError: () => {}, ...extra });

    for (const api of ['openai responses', 'openai chat', 'anthropic messages']) {
      it(`${api}: read to the end, reported; the same parts and bytes as without the wrapper`, async () => {
        const seen: { parts: string; bodies: string[] }[] = [];
        for (const fetch of [globalThis.fetch, wrapper()]) {
          const bodies: Promise<Buffer>[] = [];
          const result = run(models(capturing(fetch, bodies))[api], { outputTokens: 40 });
          const parts: unknown[] = [];
          for await (const part of result.fullStream) parts.push(part);
          seen.push({ parts: comparable(parts), bodies: (await Promise.all(bodies)).map((b) => sameIds(b.toString('utf8'))) });
        }
        assert.ok(seen[1]!.parts === seen[0]!.parts, `the same parts:\n${seen[1]!.parts}\n${seen[0]!.parts}`);
        assert.equal(seen[1]!.bodies.join(), seen[0]!.bodies.join(), 'the same bytes');
        const span = onlySpan(await otel.settle());
        assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
        assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 40);
      });
    }

    it('cut with abortSignal: cancelled, estimated; the provider saw the client go away', async () => {
      const controller = new AbortController();
      const result = run(models(wrapper())['anthropic messages'], { outputTokens: 3000, chunkDelayMs: 2 }, { abortSignal: controller.signal });
      let deltas = 0;
      try {
        for await (const part of result.fullStream) if (part.type === 'text-delta' && ++deltas === 5) controller.abort();
      } catch {
        // some lines end the stream with the abort error
      }
      const span = onlySpan(await otel.settle());
      assertCost(span, { outcome: 'cancelled', input: 'reported', output: 'estimated' });
      assert.ok((attr(span, 'gen_ai.usage.output_tokens') as number) < 3000);
      await until(() => harness.emulator.requests[0]?.outcome !== undefined);
      assert.equal(harness.emulator.requests[0]!.clientClosedEarly, true);
    });

    it('the consumer stops reading: counted as far as the AI SDK read the body', async () => {
      const result = run(models(wrapper())['openai chat'], { outputTokens: 600, chunkDelayMs: 3 });
      let received = '';
      for await (const text of result.textStream) {
        received += text;
        if (received.length > 40) break;
      }
      const span = onlySpan(await otel.settle(1));
      const output = attr(span, 'gen_ai.usage.output_tokens') as number;
      if (line.name === 'ai 7') {
        // ai 7 stops reading the body: it ends as abandoned once idle, with what had arrived by then.
        assert.equal(attr(span, 'llm_cost.stream.outcome'), 'abandoned');
        assert.ok(output >= 5 && output <= 600, `from what the consumer read to the whole answer: ${output}`);
      } else {
        // ai 6 reads the body to its end whatever the consumer does: the whole answer, reported.
        assertCost(span, { outcome: 'completed', input: 'reported', output: 'reported' });
        assert.equal(output, 600);
      }
    });

    it('a mid-stream error: error', async () => {
      const result = run(models(wrapper())['openai responses'], { outputTokens: 200, errorAfterChunks: 5 });
      await drain(result.fullStream);
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    });

    it('the connection drops mid-stream: error', async () => {
      const result = run(models(wrapper())['openai chat'], { outputTokens: 200, dropAfterChunks: 5 });
      await drain(result.fullStream);
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'error');
    });

    it('with the AI SDK’s own telemetry: its span is our parent, in one trace; our metrics count the request once', async () => {
      const spentBefore = sumPoints(await otel.metricPoints('llm_cost.spend'));
      const result = run(models(wrapper())['anthropic messages'], { outputTokens: 40 }, line.telemetry());
      for await (const _part of result.fullStream);
      const ours = onlySpan(await otel.settle());
      // The AI SDK ends its spans as the stream finishes: wait for them too.
      await until(() => otel.allSpans().length > 1);
      const all = otel.allSpans();
      const traceId = ours.spanContext().traceId;
      const parentId =
        (ours as { parentSpanContext?: { spanId: string }; parentSpanId?: string }).parentSpanContext?.spanId ??
        (ours as { parentSpanId?: string }).parentSpanId;
      const parent = all.find((span) => span.spanContext().spanId === parentId);
      assert.ok(parent, `our span has a parent among ${all.map((s) => s.name).join(', ')}`);
      assert.notEqual(parent, ours);
      assert.equal(parent.spanContext().traceId, traceId);
      assert.ok(all.filter((span) => span !== ours).every((span) => span.spanContext().traceId === traceId));
      const spend = sumPoints(await otel.metricPoints('llm_cost.spend')) - spentBefore;
      assert.ok(Math.abs(spend - (attr(ours, 'llm_cost.cost.usd') as number)) < 1e-12, `spend ${spend} = the one span's cost`);
    });
  });
}

/** Reads a stream to its end; the error it may end with is the AI SDK's to report, not the test's. */
async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  try {
    for await (const _part of stream);
  } catch {
    // seen in the span
  }
}

async function until(condition: () => boolean): Promise<void> {
  for (let wait = 0; wait < 300 && !condition(); wait++) await new Promise((resolve) => setTimeout(resolve, 10));
}
