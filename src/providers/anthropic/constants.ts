/**
 * The fitted constants of the Anthropic estimators (core/fitted-constants.ts). Claude's
 * tokenizer is not public: text is counted with o200k and scaled by a factor per Claude
 * generation (the tokenizer changed between them), used for input and output alike (one
 * tokenizer reads both). `npm run accuracy -- <file> --by-source` refits every value on
 * all sources but one and measures on the source left out; docs/accuracy.md lists each
 * value with the records and sources behind it. Per model, self-calibration takes over
 * from the generation's factor (core/calibration.ts).
 *
 * Published figures are not in here: the tool-use system prompt sizes per model and
 * `tool_choice`, and the image rule (count-input.ts).
 */
import { constantValues, defaultValues, type EstimatorConstantOverrides, type FittedConstant } from '../../core/fitted-constants.js';

const offset = (target: 'input' | 'output', value: number, fallback: FittedConstant['fallback'], about: string): FittedConstant => ({
  value,
  kind: 'offset',
  target,
  fallback,
  integer: true,
  about,
});

const factor = (value: number, fallback: FittedConstant['fallback'], about: string): FittedConstant => ({
  value,
  kind: 'factor',
  target: 'output',
  fallback,
  integer: false,
  about,
});

export const ANTHROPIC_CONSTANTS = {
  // --- Tokenizer factors (Claude tokens per o200k token), per generation ---
  'anthropic.factor': factor(1.03, 1, 'any Claude model whose generation has no factor of its own'),
  'anthropic.factor.claude-3': factor(1.16, { sameAs: 'anthropic.factor' }, 'Claude 3 (haiku, sonnet, opus of 2024)'),
  'anthropic.factor.claude-3-5': factor(1.14, { sameAs: 'anthropic.factor' }, 'Claude 3.5 (haiku, sonnet)'),
  'anthropic.factor.claude-3-7': factor(1.19, { sameAs: 'anthropic.factor' }, 'Claude 3.7 Sonnet'),
  'anthropic.factor.claude-4': factor(1.04, { sameAs: 'anthropic.factor' }, 'Claude 4 and later (4, 4.1, 4.5, 4.6)'),
  // --- Output ---
  'anthropic.output.per_response': offset('output', 3, 0, 'per response, beyond its text'),
  'anthropic.output.tool_calls': offset(
    'output',
    15,
    0,
    'the block around the tool calls of a response (not when `tool_choice` `any` or `tool` has the API open it)',
  ),
  'anthropic.output.tool_element': offset(
    'output',
    15,
    0,
    'each markup element of a tool call: one per call (not a call of the tool `tool_choice` names) and one per top-level parameter',
  ),
  'anthropic.output.thinking.summarized_share': {
    value: 0.21,
    kind: 'share',
    target: 'output',
    fallback: 0,
    integer: false,
    about:
      'Claude 4 and later bill the full thinking but stream a summary: hidden thinking tokens per summary token, before this process has seen the model family report any',
  },
  // --- Input (used only when `message_start` never arrived) ---
  'anthropic.input.per_message': offset('input', 3, 0, 'per message'),
  'anthropic.input.per_request': offset('input', 5, 0, 'per request'),
  'anthropic.input.tools.recent': offset('input', 299, 0, 'the tool-use system prompt of the 4.5 and later families beyond the published figure (`auto`)'),
  'anthropic.input.tools.recent.forced': offset('input', 299, { sameAs: 'anthropic.input.tools.recent' }, 'the same with a forcing `tool_choice`'),
  'anthropic.input.thinking': offset('input', 32, 0, 'extended thinking: its instructions'),
  'anthropic.input.output_format': offset('input', 141, 0, 'structured outputs: the instructions around the schema'),
} as const satisfies Record<string, FittedConstant>;

export type AnthropicConstantName = keyof typeof ANTHROPIC_CONSTANTS;
export type AnthropicConstants = Readonly<Record<AnthropicConstantName, number>>;

const DEFAULTS: AnthropicConstants = defaultValues(ANTHROPIC_CONSTANTS);

export function anthropicConstants(overrides?: EstimatorConstantOverrides): AnthropicConstants {
  return constantValues(ANTHROPIC_CONSTANTS, DEFAULTS, overrides);
}

/** The Claude generation of a model id, for its tokenizer factor. */
export function claudeGeneration(model: string | undefined): 'claude-3' | 'claude-3-5' | 'claude-3-7' | 'claude-4' | undefined {
  const id = (model ?? '').toLowerCase().replace(/^(anthropic\.|us\.anthropic\.|eu\.anthropic\.)/, '');
  if (/^claude-3[-.]5/.test(id)) return 'claude-3-5';
  if (/^claude-3[-.]7/.test(id)) return 'claude-3-7';
  if (/^claude-3-(haiku|sonnet|opus)/.test(id)) return 'claude-3';
  if (/^claude-(haiku|sonnet|opus)-[4-9]/.test(id) || /^claude-[4-9]/.test(id)) return 'claude-4';
  return undefined;
}

/** Claude tokens per o200k token for `model`: its generation's factor, or the general one. */
export function claudeFactor(model: string | undefined, k: AnthropicConstants): number {
  const generation = claudeGeneration(model);
  return generation ? k[`anthropic.factor.${generation}`] : k['anthropic.factor'];
}
