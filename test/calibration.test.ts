/**
 * Self-calibration: learned from completed requests that report usage, bounded, smoothed,
 * sampled, per provider and model family; it starts from the fitted defaults and never
 * changes a reported value. The factor used is recorded on the span.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { EstimateCalibration, modelFamily } from '../src/core/calibration.js';
import { anthropicConstants, claudeFactor, claudeGeneration } from '../src/providers/anthropic/constants.js';
import { openaiCalibration } from '../src/providers/openai/calibration-spec.js';
import { defaultEffort, isReasoningModel, reasoningExpectation, requestedEffort } from '../src/providers/openai/reasoning.js';
import { ATTR_LLM_COST_ESTIMATE_CALIBRATION } from '../src/semconv.js';
import { useHarness } from './helpers/harness.js';
import { loadFixture, registerFixtures } from './helpers/fixtures.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const ANTHROPIC_BAND = [1.13 * 0.85, 1.13 * 1.2] as const;
const OPENAI_BAND = [0.97, 1.03] as const;

describe('EstimateCalibration', () => {
  it('starts from the fitted default and moves slowly towards what is reported', () => {
    const calibration = new EstimateCalibration();
    const key = `anthropic/${modelFamily('claude-sonnet-4-20250514')}`;
    assert.equal(calibration.outputFactor(key, 1.13), 1.13);
    calibration.observe(key, ANTHROPIC_BAND, 1.13, { counted: 100, overhead: 3, reportedOutput: 128 });
    const once = calibration.outputFactor(key, 1.13);
    assert.ok(once > 1.13 && once < 1.25, `one sample moves the factor part of the way: ${once}`);
  });

  it('keeps the factor within its band, however far the reports are', () => {
    const calibration = new EstimateCalibration();
    const key = 'anthropic/claude-haiku-4-5';
    for (let i = 0; i < 500; i++) calibration.observe(key, ANTHROPIC_BAND, 1.13, { counted: 100, overhead: 0, reportedOutput: 1000 });
    assert.ok(Math.abs(calibration.outputFactor(key, 1.13) - 1.13 * 1.2) < 1e-9);
    for (let i = 0; i < 500; i++) calibration.observe(key, ANTHROPIC_BAND, 1.13, { counted: 100, overhead: 0, reportedOutput: 10 });
    assert.ok(Math.abs(calibration.outputFactor(key, 1.13) - 1.13 * 0.85) < 1e-9);
    // OpenAI's tokenizer is the provider's: its band is narrow.
    const openai = openaiCalibration('openai', 'chat', 'gpt-4o-2024-08-06', {});
    assert.deepEqual(openai.outputFactorBounds, OPENAI_BAND);
    for (let i = 0; i < 500; i++) calibration.observe(openai.outputKey, openai.outputFactorBounds, 1, { counted: 100, overhead: 0, reportedOutput: 200 });
    assert.ok(calibration.outputFactor(openai.outputKey, 1) <= 1.03 + 1e-9);
  });

  it('ignores short texts and keeps families apart', () => {
    const calibration = new EstimateCalibration();
    const sonnet = `anthropic/${modelFamily('claude-sonnet-4-5-20250929')}`;
    calibration.observe(sonnet, ANTHROPIC_BAND, 1.13, { counted: 5, overhead: 0, reportedOutput: 50 });
    assert.equal(calibration.outputFactor(sonnet, 1.13), 1.13);
    calibration.observe(sonnet, ANTHROPIC_BAND, 1.13, { counted: 200, overhead: 0, reportedOutput: 260 });
    assert.notEqual(calibration.outputFactor(sonnet, 1.13), 1.13);
    assert.equal(calibration.outputFactor('anthropic/claude-haiku-4-5', 1.13), 1.13);
  });

  it('counts the first requests of a key, then only a sample', () => {
    const calibration = new EstimateCalibration();
    let sampled = 0;
    for (let i = 0; i < 120; i++) if (calibration.shouldSample('openai/gpt-4o')) sampled++;
    assert.equal(sampled, 5 + 6); // the first 5, then every 20th (20, 40, ... 120)
    let inputs = 0;
    for (let i = 0; i < 120; i++) if (calibration.shouldSampleInput('openai/chat/gpt-4o/text')) inputs++;
    assert.equal(inputs, 5 + 6);
  });

  it('learns typical reasoning tokens per family and effort, zeros included', () => {
    const calibration = new EstimateCalibration();
    const key = openaiCalibration('openai', 'responses', 'gpt-5-mini', {}).outputKey;
    assert.equal(key, 'openai/gpt-5-mini#medium');
    assert.equal(calibration.reasoningTokens(key, 64), 64);
    for (let i = 0; i < 200; i++) calibration.observe(key, OPENAI_BAND, 1, { overhead: 0, reportedOutput: 1100, reportedReasoning: 1000 });
    assert.ok(calibration.reasoningTokens(key, 64) > 900);
    // A family whose responses report no reasoning is learned to reason none.
    const quiet = 'openai/gpt-5.1#none';
    calibration.observe(quiet, OPENAI_BAND, 1, { overhead: 0, reportedOutput: 12, reportedReasoning: 120 });
    for (let i = 0; i < 200; i++) calibration.observe(quiet, OPENAI_BAND, 1, { overhead: 0, reportedOutput: 12, reportedReasoning: 0 });
    assert.ok(calibration.reasoningTokens(quiet, 64) < 1, `${calibration.reasoningTokens(quiet, 64)}`);
    // Without a reported reasoning figure (a model that cannot reason), nothing is learned.
    calibration.observe('openai/gpt-4o', OPENAI_BAND, 1, { overhead: 0, reportedOutput: 12 });
    assert.equal(calibration.reasoningTokens('openai/gpt-4o', 7), 7);
  });

  it('learns the share of thinking a summary leaves out as a ratio of sums, bounded; short summaries and garbage teach nothing', () => {
    const calibration = new EstimateCalibration();
    const key = 'anthropic/claude-sonnet-4#thinking';
    assert.equal(calibration.hiddenShare(key, 0.14), 0.14);
    // A summary too short to say anything.
    calibration.observeShare(key, 500, 10);
    assert.equal(calibration.hiddenShare(key, 0.14), 0.14);
    // Long summaries weigh as much as they bill: 100 hidden of 1,000 and 900 of 100 → 1,000 / 1,100.
    calibration.observeShare(key, 100, 1000);
    assert.ok(Math.abs(calibration.hiddenShare(key, 0.14) - 0.1) < 1e-9);
    calibration.observeShare(key, 900, 100);
    const mixed = calibration.hiddenShare(key, 0.14);
    assert.ok(mixed > 0.1 && mixed < 1, `${mixed}`);
    // Whatever is reported, at most 20 hidden tokens per summary token, never below 0.
    const wild = 'anthropic/claude-opus-4#thinking';
    for (let i = 0; i < 200; i++) calibration.observeShare(wild, 1e9, 100);
    assert.ok(calibration.hiddenShare(wild, 0) <= 20 + 1e-9);
    for (let i = 0; i < 2000; i++) calibration.observeShare(wild, -50, 100);
    assert.ok(calibration.hiddenShare(wild, 1) >= 0 && calibration.hiddenShare(wild, 1) < 0.1, `${calibration.hiddenShare(wild, 1)}`);
    for (const [hidden, summary] of [
      [Number.NaN, 100],
      [100, Number.POSITIVE_INFINITY],
      [100, Number.NaN],
    ] as const)
      calibration.observeShare('anthropic/x#thinking', hidden, summary);
    assert.equal(calibration.hiddenShare('anthropic/x#thinking', 0.5), 0.5);
    // A residual per response (thinking whose text is not returned) is learned like reasoning tokens.
    calibration.observeHidden('anthropic/y#thinking', 300);
    assert.equal(calibration.reasoningTokens('anthropic/y#thinking', 0), 300);
    calibration.observeHidden('anthropic/y#thinking', Number.NaN);
    assert.equal(calibration.reasoningTokens('anthropic/y#thinking', 0), 300);
  });

  it('learns an input offset: the median of the first reports, then slowly, bounded, and an outlier moves it little', () => {
    const calibration = new EstimateCalibration();
    const key = 'openai/responses/gpt-4o/text';
    const bounds = [-64, 1024] as const;
    assert.equal(calibration.inputOffset(key), 0);
    // One prompt among the first five that the rules miss badly does not set the offset.
    for (const reported of [118, 118, 900, 118, 118]) calibration.observeInput(key, bounds, 100, reported);
    assert.equal(calibration.inputOffset(key), 18);
    // Later, one observation moves the offset by a token or so at most.
    calibration.observeInput(key, bounds, 100, 5100);
    assert.ok(calibration.inputOffset(key) > 18 && calibration.inputOffset(key) < 18 + 2, `${calibration.inputOffset(key)}`);
    // A steady different amount is learned, slowly.
    for (let i = 0; i < 400; i++) calibration.observeInput(key, bounds, 100, 140);
    assert.ok(Math.abs(calibration.inputOffset(key) - 40) < 1, `${calibration.inputOffset(key)}`);
    // Bounded whatever is reported.
    const wild = 'openai/chat/gpt-4o/tools';
    for (let i = 0; i < 2000; i++) calibration.observeInput(wild, bounds, 10, 1e9);
    assert.equal(calibration.inputOffset(wild), 1024);
    for (let i = 0; i < 2000; i++) calibration.observeInput(wild, bounds, 10_000, 0);
    assert.ok(calibration.inputOffset(wild) >= -64);
    // Garbage teaches nothing.
    calibration.observeInput('k', bounds, Number.NaN, 5);
    calibration.observeInput('k', bounds, 0, 5);
    calibration.observeInput('k', bounds, 10, Number.POSITIVE_INFINITY);
    assert.equal(calibration.inputOffset('k'), 0);
  });

  it('names families without dates', () => {
    assert.equal(modelFamily('gpt-4o-2024-08-06'), 'gpt-4o');
    assert.equal(modelFamily('claude-3-5-sonnet-latest'), 'claude-3-5-sonnet');
    assert.equal(modelFamily('claude-sonnet-4-20250514'), 'claude-sonnet-4');
    assert.equal(modelFamily('gpt-3.5-turbo-0125'), 'gpt-3.5-turbo');
    assert.equal(modelFamily(undefined), 'unknown');
  });
});

describe('OpenAI hidden reasoning: every visible signal', () => {
  it('knows which models reason and their default effort (OpenAI API reference)', () => {
    assert.ok(isReasoningModel('gpt-5-mini'));
    assert.ok(isReasoningModel('o4-mini'));
    assert.ok(!isReasoningModel('gpt-4o'));
    assert.ok(!isReasoningModel('gpt-5-chat-latest'));
    assert.equal(defaultEffort('gpt-5'), 'medium');
    assert.equal(defaultEffort('o3'), 'medium');
    assert.equal(defaultEffort('gpt-5-pro'), 'high');
    assert.equal(defaultEffort('gpt-5.1'), 'none');
    assert.equal(defaultEffort('gpt-5.2-2025-12-11'), 'none');
    assert.equal(defaultEffort('gpt-5.1-codex'), 'medium');
    assert.equal(requestedEffort({ reasoning: { effort: 'low' } }), 'low');
    assert.equal(requestedEffort({ reasoning_effort: 'high' }), 'high');
    assert.equal(requestedEffort({}), undefined);
  });

  it('expects none where nothing could reason, and a typical count only where something could', () => {
    const none = { kind: 'none' };
    assert.deepEqual(reasoningExpectation('gpt-4o', {}, 64), none);
    assert.deepEqual(reasoningExpectation('gpt-5', { reasoning_effort: 'none' }, 64), none);
    assert.deepEqual(reasoningExpectation('gpt-5', { reasoning: { effort: 'none' } }, 64), none);
    // Minimal: typically none, but learned.
    assert.deepEqual(reasoningExpectation('gpt-5', { reasoning: { effort: 'minimal' } }, 64), { kind: 'typical', defaultTokens: 0 });
    // A model whose default is none: none by default, learned.
    assert.deepEqual(reasoningExpectation('gpt-5.1', {}, 64), { kind: 'typical', defaultTokens: 0 });
    assert.deepEqual(reasoningExpectation('gpt-5.1', { reasoning: { effort: 'high' } }, 64), { kind: 'typical', defaultTokens: 64 });
    assert.deepEqual(reasoningExpectation('gpt-5-mini', {}, 64), { kind: 'typical', defaultTokens: 64 });
    // Responses: output items arrived, none of them reasoning: there was none.
    assert.deepEqual(reasoningExpectation('gpt-5-mini', {}, 64, { outputItems: 1, reasoningItems: 0 }), none);
    assert.deepEqual(reasoningExpectation('gpt-5-mini', {}, 64, { outputItems: 2, reasoningItems: 1 }), { kind: 'typical', defaultTokens: 64 });
    // Cut before any item: reasoning may be under way.
    assert.deepEqual(reasoningExpectation('gpt-5-mini', {}, 64, { outputItems: 0, reasoningItems: 0 }), { kind: 'typical', defaultTokens: 64 });
  });
});

describe('Claude generations', () => {
  it('maps models to generations, each with its own factor (docs/accuracy.md)', () => {
    assert.equal(claudeGeneration('claude-3-haiku-20240307'), 'claude-3');
    assert.equal(claudeGeneration('claude-3-opus-latest'), 'claude-3');
    assert.equal(claudeGeneration('claude-3-5-sonnet-20240620'), 'claude-3-5');
    assert.equal(claudeGeneration('claude-3-7-sonnet-20250219'), 'claude-3-7');
    assert.equal(claudeGeneration('claude-sonnet-4-20250514'), 'claude-4');
    assert.equal(claudeGeneration('claude-opus-4-1'), 'claude-4');
    assert.equal(claudeGeneration('claude-haiku-4-5'), 'claude-4');
    assert.equal(claudeGeneration('claude-2.1'), undefined);
    const k = anthropicConstants();
    assert.equal(claudeFactor('claude-2.1', k), k['anthropic.factor']);
    assert.equal(claudeFactor('claude-3-haiku-20240307', k), k['anthropic.factor.claude-3']);
    // Overrides (the accuracy command's refits) replace the shipped values, unknown names ignored.
    const refit = anthropicConstants({ 'anthropic.factor.claude-3': 1.5, 'no.such.constant': 3, 'anthropic.factor': Number.NaN });
    assert.equal(claudeFactor('claude-3-haiku-20240307', refit), 1.5);
    assert.equal(refit['anthropic.factor'], k['anthropic.factor']);
  });
});

describe('calibration on real replays', () => {
  const harness = useHarness();
  const { otel } = harness;
  let anthropic: InstanceType<typeof otel.Anthropic>;

  harness.setup(() => {
    registerFixtures(harness.emulator);
    anthropic = harness.anthropic();
  });
  beforeEach(() => {
    // Each test starts from what a fresh instrumentation knows.
    otel.instrumentation['owned'].calibration.reset();
  });

  type Create = (body: Record<string, unknown>, options: object) => Promise<AsyncIterable<unknown>>;
  const replay = async (stripUsage: boolean): Promise<void> => {
    const record = loadFixture('anthropic-stream-text');
    const create = anthropic.messages.create.bind(anthropic.messages) as unknown as Create;
    const stream = await create({ ...(record.request as object), stream: true }, script({ replay: 'anthropic-stream-text', stripUsage }));
    for await (const _ of stream) void _;
  };

  const fitted = (): number => claudeFactor(loadFixture('anthropic-stream-text').response_model, anthropicConstants());

  it('a fresh process estimates with the fitted factor of the generation and records it on the span', async () => {
    await replay(true);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    assert.equal(attr(span, ATTR_LLM_COST_ESTIMATE_CALIBRATION), fitted());
    assert.equal(attr(span, 'llm_cost.estimate.method'), 'local');
  });

  it('reported values stay exact while they teach the calibration, and later estimates use it', async () => {
    const record = loadFixture('anthropic-stream-text');
    const key = `anthropic/${modelFamily((record.request as { model: string }).model)}`;
    const factor = fitted();
    let learned = factor;
    for (let i = 1; i <= 3; i++) {
      const before = learned;
      await replay(false);
      const span = (await otel.settle(i)).at(-1)!;
      assert.equal(attr(span, 'gen_ai.usage.output_tokens'), record.usage_summary.output);
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
      assert.equal(attr(span, ATTR_LLM_COST_ESTIMATE_CALIBRATION), undefined);
      // Learning counts the text in the worker without holding the request up; a flush waits for it.
      await otel.instrumentation.flush();
      learned = otel.instrumentation['owned'].calibration.outputFactor(key, factor);
      assert.notEqual(learned, before);
    }
    // (No otel.reset() here: it would also forget what was learned.)
    await replay(true);
    const span = (await otel.settle(4)).at(-1)!;
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    assert.equal(attr(span, ATTR_LLM_COST_ESTIMATE_CALIBRATION), learned);
  });
});
