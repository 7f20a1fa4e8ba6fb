/**
 * Self-calibration: learned from completed requests that report usage, bounded, smoothed,
 * sampled, per provider and model family; it starts from the fitted defaults and never
 * changes a reported value. The factor used is recorded on the span.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startEmulator, type ProviderEmulator } from '../src/emulator/index.js';
import {
  calibrationKey,
  DEFAULT_REASONING_TOKENS,
  EstimateCalibration,
  estimateCalibration,
  isReasoningModel,
  requestedEffort,
} from '../src/core/calibration.js';
import { CLAUDE_OUTPUT_FACTOR } from '../src/providers/anthropic/count-input.js';
import { ATTR_LLM_COST_ESTIMATE_CALIBRATION } from '../src/semconv.js';
import { startOtel } from './helpers/otel.js';
import { loadFixture, registerFixtures } from './helpers/fixtures.js';
import { attr, onlySpan, script } from './helpers/spans.js';

describe('EstimateCalibration', () => {
  it('starts from the fitted default and moves slowly towards what is reported', () => {
    const calibration = new EstimateCalibration();
    const key = calibrationKey('anthropic', 'claude-sonnet-4-20250514');
    assert.equal(calibration.outputFactor(key, 1.13), 1.13);
    calibration.observe(key, 'anthropic', 1.13, { counted: 100, overhead: 3, reportedOutput: 128 });
    const once = calibration.outputFactor(key, 1.13);
    assert.ok(once > 1.13 && once < 1.25, `one sample moves the factor part of the way: ${once}`);
  });

  it('keeps the factor within its band, however far the reports are', () => {
    const calibration = new EstimateCalibration();
    const key = calibrationKey('anthropic', 'claude-haiku-4-5');
    for (let i = 0; i < 500; i++) calibration.observe(key, 'anthropic', 1.13, { counted: 100, overhead: 0, reportedOutput: 1000 });
    assert.ok(Math.abs(calibration.outputFactor(key, 1.13) - 1.13 * 1.2) < 1e-9);
    for (let i = 0; i < 500; i++) calibration.observe(key, 'anthropic', 1.13, { counted: 100, overhead: 0, reportedOutput: 10 });
    assert.ok(Math.abs(calibration.outputFactor(key, 1.13) - 1.13 * 0.85) < 1e-9);
    // OpenAI's tokenizer is the provider's: its band is narrow.
    const openai = calibrationKey('openai', 'gpt-4o-2024-08-06');
    for (let i = 0; i < 500; i++) calibration.observe(openai, 'openai', 1, { counted: 100, overhead: 0, reportedOutput: 200 });
    assert.ok(calibration.outputFactor(openai, 1) <= 1.03 + 1e-9);
  });

  it('ignores short texts and keeps families apart', () => {
    const calibration = new EstimateCalibration();
    const sonnet = calibrationKey('anthropic', 'claude-sonnet-4-5-20250929');
    calibration.observe(sonnet, 'anthropic', 1.13, { counted: 5, overhead: 0, reportedOutput: 50 });
    assert.equal(calibration.outputFactor(sonnet, 1.13), 1.13);
    calibration.observe(sonnet, 'anthropic', 1.13, { counted: 200, overhead: 0, reportedOutput: 260 });
    assert.notEqual(calibration.outputFactor(sonnet, 1.13), 1.13);
    assert.equal(calibration.outputFactor(calibrationKey('anthropic', 'claude-haiku-4-5'), 1.13), 1.13);
  });

  it('counts the first requests of a family, then only a sample', () => {
    const calibration = new EstimateCalibration();
    const key = calibrationKey('openai', 'gpt-4o');
    let sampled = 0;
    for (let i = 0; i < 120; i++) if (calibration.shouldSample(key, 1)) sampled++;
    assert.equal(sampled, 5 + 6); // the first 5, then every 20th (20, 40, ... 120)
  });

  it('learns typical reasoning tokens per family and effort, from the fitted default', () => {
    const calibration = new EstimateCalibration();
    const key = calibrationKey('openai', 'gpt-5-mini', 'medium');
    assert.equal(calibration.reasoningTokens(key), DEFAULT_REASONING_TOKENS);
    assert.equal(calibration.reasoningTokens(calibrationKey('openai', 'gpt-5', 'minimal')), 0);
    for (let i = 0; i < 200; i++) calibration.observe(key, 'openai', 1, { overhead: 0, reportedOutput: 1100, reportedReasoning: 1000 });
    assert.ok(calibration.reasoningTokens(key) > 900);
  });

  it('names families without dates and knows which models reason', () => {
    assert.equal(calibrationKey('openai', 'gpt-4o-2024-08-06'), 'openai/gpt-4o');
    assert.equal(calibrationKey('anthropic', 'claude-3-5-sonnet-latest'), 'anthropic/claude-3-5-sonnet');
    assert.equal(calibrationKey('anthropic', 'claude-sonnet-4-20250514'), 'anthropic/claude-sonnet-4');
    assert.ok(isReasoningModel('openai', 'gpt-5-mini'));
    assert.ok(isReasoningModel('openai', 'o4-mini'));
    assert.ok(!isReasoningModel('openai', 'gpt-4o'));
    assert.ok(!isReasoningModel('anthropic', 'o1'));
    assert.equal(requestedEffort({ reasoning: { effort: 'low' } }), 'low');
    assert.equal(requestedEffort({ reasoning_effort: 'high' }), 'high');
    assert.equal(requestedEffort({}), undefined);
  });
});

describe('calibration on real replays', () => {
  const otel = startOtel();
  let emulator: ProviderEmulator;
  let anthropic: InstanceType<typeof otel.Anthropic>;

  before(async () => {
    emulator = await startEmulator();
    registerFixtures(emulator);
    anthropic = new otel.Anthropic({ apiKey: 'test-key', baseURL: emulator.anthropicBaseURL, maxRetries: 0 });
  });
  after(async () => {
    await emulator.stop();
    await otel.shutdown();
  });
  beforeEach(() => {
    otel.reset();
    estimateCalibration.reset();
  });

  type Create = (body: Record<string, unknown>, options: object) => Promise<AsyncIterable<unknown>>;
  const replay = async (stripUsage: boolean): Promise<void> => {
    const record = loadFixture('anthropic-stream-text');
    const create = anthropic.messages.create.bind(anthropic.messages) as unknown as Create;
    const stream = await create({ ...(record.request as object), stream: true }, script({ replay: 'anthropic-stream-text', stripUsage }));
    for await (const _ of stream) void _;
  };

  it('a fresh process estimates with the fitted factor and records it on the span', async () => {
    await replay(true);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'estimated');
    assert.equal(attr(span, ATTR_LLM_COST_ESTIMATE_CALIBRATION), CLAUDE_OUTPUT_FACTOR);
  });

  it('reported values stay exact while they teach the calibration, and later estimates use it', async () => {
    const record = loadFixture('anthropic-stream-text');
    const key = calibrationKey('anthropic', record.response_model);
    let learned = CLAUDE_OUTPUT_FACTOR;
    for (let i = 1; i <= 3; i++) {
      const before = learned;
      await replay(false);
      const span = (await otel.settle(i)).at(-1)!;
      assert.equal(attr(span, 'gen_ai.usage.output_tokens'), record.usage_summary.output);
      assert.equal(attr(span, 'llm_cost.usage.output_tokens.source'), 'reported');
      assert.equal(attr(span, ATTR_LLM_COST_ESTIMATE_CALIBRATION), undefined);
      // Learning counts the text in the worker without holding the request up: wait for it
      // (two minutes only catch a hang).
      const hung = Date.now() + 120_000;
      while (estimateCalibration.outputFactor(key, CLAUDE_OUTPUT_FACTOR) === before && Date.now() < hung) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      learned = estimateCalibration.outputFactor(key, CLAUDE_OUTPUT_FACTOR);
      assert.notEqual(learned, before);
    }
    otel.reset();
    await replay(true);
    const span = onlySpan(await otel.settle());
    assert.equal(attr(span, ATTR_LLM_COST_ESTIMATE_CALIBRATION), learned);
  });
});
