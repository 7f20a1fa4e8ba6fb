/**
 * Claude thinking billed beyond what is streamed: Claude 4 and later stream a summary of
 * their thinking and bill all of it (Anthropic's extended-thinking documentation), and with
 * `display: 'omitted'` stream none of it. A stream cut short adds what the summary left out
 * (a share of the summary, learned per model family); a completed response reports the full
 * count (`output_tokens_details.thinking_tokens`) and teaches it. Rules on their own, then
 * through the real `@anthropic-ai/sdk` against the emulator, whose Claude 4 thinking bills
 * `reasoningTokens` beyond the streamed summary.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getEncoding } from 'js-tiktoken';
import { EstimateCalibration } from '../src/core/calibration.js';
import { estimateHidden, learnHidden } from '../src/core/hidden-reasoning.js';
import { anthropicConstants, claudeFactor } from '../src/providers/anthropic/constants.js';
import { summarizesThinking, thinkingExpectation, type ThinkingEvidence } from '../src/providers/anthropic/thinking.js';
import { useHarness } from './helpers/harness.js';
import { loadFixture, registerFixtures } from './helpers/fixtures.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const k = anthropicConstants();
const SHARE = k['anthropic.output.thinking.summarized_share'];
const o200k = getEncoding('o200k_base');
const tokens = (text: string): number => o200k.encode(text, 'all').length;

const nothingYet: ThinkingEvidence = { thinkingBlocks: 0, thinkingChars: 0, redactedBlocks: 0, answeredFirst: false };
const summary: ThinkingEvidence = { thinkingBlocks: 1, thinkingChars: 400, redactedBlocks: 0, answeredFirst: false };
const enabled = { type: 'enabled' as const, budget_tokens: 2048 };

describe('what a Claude stream shows about its thinking', () => {
  it('Claude 4 and later summarize; Claude 3.7 returns thinking in full; older models do not think', () => {
    for (const model of [
      'claude-sonnet-4-20250514',
      'claude-sonnet-4-5',
      'claude-opus-4-1-20250805',
      'claude-haiku-4-5',
      'claude-opus-4-7',
      'claude-mythos-preview',
    ]) {
      assert.ok(summarizesThinking(model), model);
    }
    for (const model of ['claude-3-7-sonnet-20250219', 'claude-3-5-sonnet-20240620', 'claude-3-opus-20240229', 'claude-2.1', undefined]) {
      assert.ok(!summarizesThinking(model), String(model));
    }
  });

  it('expects a hidden share only where thinking was asked for on a summarizing model and did not end before it began', () => {
    const body = (extra: object = {}) => ({ model: 'claude-sonnet-4-5', messages: [], ...extra });
    assert.deepEqual(thinkingExpectation(body(), summary, k), { kind: 'none' });
    assert.deepEqual(thinkingExpectation(body({ thinking: { type: 'disabled' } }), summary, k), { kind: 'none' });
    // A malformed `thinking` (the API would refuse it) asks for nothing.
    for (const thinking of ['enabled', null, 42, ['enabled'], { type: 7 }])
      assert.deepEqual(thinkingExpectation(body({ thinking }), summary, k), { kind: 'none' });
    assert.deepEqual(thinkingExpectation(body({ model: 'claude-3-7-sonnet-20250219', thinking: enabled }), summary, k), { kind: 'none' });
    assert.deepEqual(thinkingExpectation(body({ thinking: enabled }), summary, k), { kind: 'summarized', defaultShare: SHARE, summaryChars: 400 });
    assert.deepEqual(thinkingExpectation(body({ thinking: { type: 'adaptive' } }), summary, k), { kind: 'summarized', defaultShare: SHARE, summaryChars: 400 });
    // Cut before anything arrived: a share of nothing.
    assert.deepEqual(thinkingExpectation(body({ thinking: enabled }), nothingYet, k), { kind: 'summarized', defaultShare: SHARE, summaryChars: 0 });
    // The answer began without thinking (adaptive thinking may skip it): none.
    assert.deepEqual(thinkingExpectation(body({ thinking: { type: 'adaptive' } }), { ...nothingYet, answeredFirst: true }, k), { kind: 'none' });
    // Thinking whose text is not returned: all of it hidden, a typical count learned from the residual.
    const allHidden = { kind: 'typical', defaultTokens: 0, learnFrom: 'residual' };
    assert.deepEqual(thinkingExpectation(body({ thinking: enabled }), { ...summary, thinkingChars: 0 }, k), allHidden);
    assert.deepEqual(thinkingExpectation(body({ thinking: enabled }), { ...summary, thinkingChars: 0, redactedBlocks: 1 }, k), allHidden);
    assert.deepEqual(thinkingExpectation(body({ thinking: { ...enabled, display: 'omitted' } }), nothingYet, k), allHidden);
  });

  it('estimates the hidden part from the summary, and learns it from the residual of completed requests (not from garbage)', () => {
    const calibration = new EstimateCalibration();
    const spec = {
      outputKey: 'anthropic/claude-sonnet-4-5',
      hiddenKey: 'anthropic/claude-sonnet-4-5#thinking',
      outputFactorBounds: [1, 1.3] as const,
      inputKey: 'i',
      inputOffsetBounds: [0, 0] as const,
      inputOffsetMaxTokens: 0,
    };
    const expectation = { kind: 'summarized', defaultShare: 0.2, summaryChars: 300 } as const;
    // 400 tokens received, three quarters of the characters summary: 300 summary tokens, 60 hidden.
    assert.deepEqual(estimateHidden(expectation, calibration, spec, 400, 400), { hidden: 60, reasoning: 360 });
    assert.deepEqual(estimateHidden({ ...expectation, summaryChars: 0 }, calibration, spec, 400, 400), { hidden: 0 });
    // A completed request billed 1,000: 3 framing, 400 text at factor 1 → 597 hidden over 300 summary tokens.
    learnHidden(expectation, calibration, spec, { counted: 400, factor: 1, overhead: 3, reportedOutput: 1000, reportedReasoning: undefined, chars: 400 });
    assert.ok(Math.abs(calibration.hiddenShare(spec.hiddenKey, 0.2) - 597 / 300) < 1e-9);
    // Nothing counted, nothing learned (a summary is never learned from its reported reasoning alone).
    const fresh = new EstimateCalibration();
    learnHidden(expectation, fresh, spec, { counted: undefined, factor: 1, overhead: 3, reportedOutput: 1000, reportedReasoning: 900, chars: 400 });
    assert.equal(fresh.hiddenShare(spec.hiddenKey, 0.2), 0.2);
    // Omitted thinking: a reported thinking count is all hidden, learned without counting.
    const omitted = { kind: 'typical', defaultTokens: 0, learnFrom: 'residual' } as const;
    learnHidden(omitted, fresh, spec, { counted: undefined, factor: 1, overhead: 3, reportedOutput: 1000, reportedReasoning: 900, chars: 40 });
    assert.equal(fresh.reasoningTokens(spec.hiddenKey, 0), 900);
    // An output reported below the text teaches zero, never a negative share.
    learnHidden(expectation, calibration, spec, { counted: 400, factor: 1, overhead: 3, reportedOutput: 10, reportedReasoning: undefined, chars: 400 });
    assert.ok(calibration.hiddenShare(spec.hiddenKey, 0.2) >= 0);
  });
});

describe('Claude thinking through the real SDK', () => {
  const harness = useHarness();
  const { otel } = harness;
  let client: InstanceType<typeof otel.Anthropic>;
  const model = 'claude-sonnet-4-5-20250929';
  const messages = [{ role: 'user' as const, content: 'Which tide pool animal is the most patient?' }];
  const THOUGHT =
    'The question asks for patience, so I should consider animals that wait for food to come to them. ' +
    'Sea anemones stay attached to rock and wait for prey to drift into their tentacles; barnacles filter the water ' +
    'only when the tide covers them; limpets clamp down for hours at low tide. The anemone waits the longest.';
  const ANSWER = 'The sea anemone: it can wait for days for a meal to drift by.';
  const EMULATED = { thinking: THOUGHT, text: ANSWER };

  harness.setup(() => {
    registerFixtures(harness.emulator);
    client = harness.anthropic();
  });

  /** A stream whose terminal events never arrive: the output is estimated from what streamed. */
  const unterminated = async (body: object, scripted: object = {}): Promise<ReturnType<typeof onlySpan>> => {
    otel.reset();
    const stream = await client.messages.create(
      { model, max_tokens: 4096, messages, ...body, stream: true },
      script({ ...EMULATED, omitTerminal: true, ...scripted }),
    );
    for await (const _ of stream) void _;
    return onlySpan(await otel.settle());
  };
  const outputOf = (span: ReturnType<typeof onlySpan>): number => attr(span, 'gen_ai.usage.output_tokens') as number;

  it('a cut Claude 4 stream that asked for thinking adds what its summary left out; one that did not, nothing', async () => {
    const thinking = await unterminated({ thinking: enabled });
    const plain = await unterminated({});
    assert.equal(attr(thinking, 'llm_cost.usage.output_tokens.source'), 'estimated');
    const hidden = outputOf(thinking) - outputOf(plain);
    const expected = SHARE * tokens(THOUGHT) * claudeFactor(model, k);
    assert.ok(hidden > 0 && Math.abs(hidden - expected) <= Math.max(2, expected * 0.15), `hidden ${hidden}, expected about ${expected}`);
    // The reasoning figure is the summary and what it left out, marked as the estimate it is.
    const reasoning = attr(thinking, 'gen_ai.usage.reasoning.output_tokens') as number;
    assert.ok(reasoning > hidden && reasoning < outputOf(thinking), `reasoning ${reasoning}`);
    assert.equal(attr(plain, 'gen_ai.usage.reasoning.output_tokens'), undefined);
  });

  it('Claude 3.7 returns its thinking in full, and an answer that began without thinking had none: nothing hidden', async () => {
    const sonnet37 = 'claude-3-7-sonnet-20250219';
    const full = await unterminated({ model: sonnet37, thinking: enabled });
    assert.equal(outputOf(full), outputOf(await unterminated({ model: sonnet37 })));
    assert.equal(attr(full, 'gen_ai.usage.reasoning.output_tokens'), undefined);
    // Adaptive thinking that skipped thinking: the text came first.
    const skipped = await unterminated({ thinking: { type: 'adaptive' } }, { thinking: undefined });
    assert.equal(outputOf(skipped), outputOf(await unterminated({}, { thinking: undefined })));
    assert.equal(attr(skipped, 'gen_ai.usage.reasoning.output_tokens'), undefined);
  });

  it('a completed response reports the full thinking count as reasoning, and its output as billed', async () => {
    const stream = await client.messages.create(
      { model, max_tokens: 4096, messages, thinking: enabled, stream: true },
      script({ ...EMULATED, reasoningTokens: 300 }),
    );
    let delta: { usage: { output_tokens: number; output_tokens_details?: { thinking_tokens: number } | null } } | undefined;
    for await (const event of stream) if (event.type === 'message_delta') delta = event as typeof delta;
    const span = onlySpan(await otel.settle());
    const thinkingTokens = delta?.usage.output_tokens_details?.thinking_tokens;
    assert.equal(thinkingTokens, tokens(THOUGHT) + 300);
    assert.equal(attr(span, 'gen_ai.usage.reasoning.output_tokens'), thinkingTokens);
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
    assert.equal(attr(span, 'gen_ai.usage.output_tokens'), delta?.usage.output_tokens);
  });

  it("completed requests teach the family's share; the next cut stream adds it, and the factor is not learned from them", async () => {
    const opus = 'claude-opus-4-1-20250805';
    // The summary leaves out three times itself, billed.
    const hiddenTokens = 3 * tokens(THOUGHT);
    for (let i = 0; i < 6; i++) {
      const stream = await client.messages.create(
        { model: opus, max_tokens: 4096, messages, thinking: enabled, stream: true },
        script({ ...EMULATED, reasoningTokens: hiddenTokens }),
      );
      for await (const _ of stream) void _;
    }
    await otel.settle(6);
    const stream = await client.messages.create(
      { model: opus, max_tokens: 4096, messages, thinking: enabled, stream: true },
      script({ ...EMULATED, omitTerminal: true }),
    );
    for await (const _ of stream) void _;
    const spans = await otel.settle(7);
    const cut = spans.at(-1)!;
    assert.equal(attr(cut, 'llm_cost.usage.output_tokens.source'), 'estimated');
    const reported = tokens(THOUGHT) + tokens(ANSWER) + hiddenTokens;
    const estimate = outputOf(cut);
    assert.ok(Math.abs(estimate - reported) <= reported * 0.1, `estimate ${estimate} vs billed ${reported}`);
    // Thinking requests teach the share, not the factor (which they would inflate).
    assert.equal(attr(cut, 'llm_cost.estimate.calibration'), claudeFactor(opus, k));
  });

  it('thinking whose text is omitted: a typical count learned from the reported thinking, none before', async () => {
    const haiku = 'claude-haiku-4-5';
    const omitted = { ...enabled, display: 'omitted' as const };
    const fresh = await unterminated({ model: haiku, thinking: omitted });
    assert.equal(attr(fresh, 'gen_ai.usage.reasoning.output_tokens'), undefined, 'nothing learned yet: no guess');
    otel.reset();
    for (let i = 0; i < 3; i++) {
      const stream = await client.messages.create(
        { model: haiku, max_tokens: 4096, messages, thinking: omitted, stream: true },
        script({ ...EMULATED, reasoningTokens: 200 }),
      );
      for await (const event of stream) {
        if (event.type === 'content_block_delta') assert.notEqual(event.delta.type, 'thinking_delta', 'omitted thinking is not streamed');
      }
    }
    await otel.settle(3);
    const stream = await client.messages.create(
      { model: haiku, max_tokens: 4096, messages, thinking: omitted, stream: true },
      script({ ...EMULATED, omitTerminal: true }),
    );
    for await (const _ of stream) void _;
    const cut = (await otel.settle(4)).at(-1)!;
    assert.equal(attr(cut, 'gen_ai.usage.reasoning.output_tokens'), tokens(THOUGHT) + 200);
    assert.ok(outputOf(cut) > tokens(THOUGHT) + 200);
  });

  it('a recorded Claude 4 stream whose long thinking came as a summary, usage stripped: the estimate adds what the summary left out', async () => {
    const record = loadFixture('anthropic-stream-thinking-summarized');
    const request = record.request as { model: string; thinking: object; messages: object[]; max_tokens: number };
    const stream = await client.messages.create(
      { ...request, stream: true } as never,
      script({ replay: 'anthropic-stream-thinking-summarized', stripUsage: true }),
    );
    let thought = '';
    let text = '';
    for await (const event of stream as unknown as AsyncIterable<{ type: string; delta?: { type: string; thinking?: string; text?: string } }>) {
      if (event.type === 'content_block_delta') {
        thought += event.delta?.thinking ?? '';
        text += event.delta?.text ?? '';
      }
    }
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    const streamed = (tokens(thought) + tokens(text)) * claudeFactor(request.model, k) + k['anthropic.output.per_response'];
    const estimate = outputOf(span);
    const billed = record.usage_summary.output;
    // Closer to the bill than the streamed text alone, still short of it: the fitted default
    // share is small (short thinking is not summarized); calibration learns each family's.
    assert.ok(estimate > streamed + 0.8 * SHARE * tokens(thought) * claudeFactor(request.model, k), `estimate ${estimate}, streamed ${streamed}`);
    assert.ok(estimate < billed, `estimate ${estimate}, billed ${billed}`);
    assert.equal(typeof attr(span, 'gen_ai.usage.reasoning.output_tokens'), 'number');
  });

  it('a server that reports nonsense thinking counts: ignored, the rest of the usage kept', async () => {
    for (const [i, thinkingTokens] of [-5, 'many', 1.5, 1e15].entries()) {
      const id = `thinking-garbage-${i}`;
      harness.emulator.addRecording(id, {
        provider: 'anthropic',
        api: 'messages',
        stream: false,
        request: { model, max_tokens: 100, messages },
        response: {
          id: 'msg_01GarbageThinking',
          type: 'message',
          role: 'assistant',
          model,
          content: [
            { type: 'thinking', thinking: 'Hm.', signature: 'x' },
            { type: 'text', text: 'Anemone.' },
          ],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 12, output_tokens: 40, output_tokens_details: { thinking_tokens: thinkingTokens } },
        },
      });
      otel.reset();
      await client.messages.create({ model, max_tokens: 100, messages, thinking: enabled }, script({ replay: id }));
      const span = onlySpan(await otel.settle());
      assert.equal(attr(span, 'gen_ai.usage.output_tokens'), 40, String(thinkingTokens));
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
      assert.equal(attr(span, 'gen_ai.usage.reasoning.output_tokens'), undefined, String(thinkingTokens));
      assert.equal(attr(span, 'llm_cost.stream.outcome'), 'completed');
    }
  });
});
