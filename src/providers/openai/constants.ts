/**
 * The fitted constants of the OpenAI estimators (core/fitted-constants.ts): residuals that
 * no published rule gives, read off recorded traffic by `npm run accuracy -- <file>
 * --by-source` (scripts/accuracy-fit.ts), which refits them on all sources but one and
 * measures on the source left out. docs/accuracy.md lists each value with the records
 * and sources behind it.
 *
 * The published rules are not in here: the Cookbook's 3 tokens per message, 1 per name
 * and 3 for the reply priming, and the image tile and patch prices (count-image.ts).
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

export const OPENAI_CONSTANTS = {
  // --- Input ---
  'openai.input.tools': offset('input', 4, 0, 'around the rendered `namespace functions` block: the tools header and wrapper (o200k models)'),
  'openai.input.tools.cl100k': offset('input', 6, { sameAs: 'openai.input.tools' }, 'the same for gpt-3.5 and gpt-4 (cl100k models)'),
  'openai.input.tool_choice.named': offset('input', 16, 0, 'a `tool_choice` naming one function: the instruction it adds (chat)'),
  'openai.input.tool_choice.named.responses': offset('input', 16, { sameAs: 'openai.input.tool_choice.named' }, 'the same in Responses'),
  'openai.input.tool_choice.required': offset('input', 1, 0, '`tool_choice: required`: the instruction it adds'),
  'openai.input.schema': offset('input', -1, 0, 'a `json_schema` format: the rendered header is longer than what the model reads'),
  'openai.input.schema.beside_tools': offset('input', 0, 0, 'a schema beside tools costs less again'),
  'openai.input.schema.responses': offset('input', -7, 0, 'Responses reads the same schema in fewer tokens than chat'),
  'openai.input.responses.functions': offset('input', -1, 0, 'Responses renders the function block one token shorter'),
  'openai.input.responses.function_call': offset('input', 10, 0, 'an earlier `function_call` item, beyond its name and arguments'),
  'openai.input.reasoning_format.priming': offset('input', -1, 0, 'gpt-5 and o-series prompts: the reply priming is one token shorter'),
  'openai.input.reasoning_format.assistant_turn': offset('input', 2, 0, 'gpt-5 and o-series prompts: each earlier assistant turn'),
  // --- Output ---
  'openai.output.tool_call': offset('output', 7, 0, 'a tool call beyond its name and arguments (and an earlier one in a prompt)'),
  'openai.output.parallel_calls': offset('output', 14, 0, 'the wrapper around parallel tool calls (chat)'),
  'openai.output.parallel_calls.responses': offset('output', 16, { sameAs: 'openai.output.parallel_calls' }, 'the same in Responses'),
  'openai.output.legacy_function_call': offset(
    'output',
    4,
    { sameAs: 'openai.output.tool_call' },
    'a call in the legacy `function_call` format: models before parallel tool calls (gpt-4-0613), `tool_calls` answers included',
  ),
  'openai.output.text_beside_tools': offset('output', 1, 0, 'a text answer when the request offers tools'),
  'openai.output.text_beside_tools_and_schema': offset('output', 0, 0, 'a text answer that must follow a `json_schema` beside tools'),
  'openai.output.refusal': offset('output', 1, 0, 'a refusal'),
  'openai.output.responses.message_end': offset('output', 1, 0, 'a Responses message: its end token (not generated when cut at the limit)'),
  'openai.output.reasoning_format': offset('output', 9, 0, 'gpt-5 and o-series: beside the visible answer and the hidden reasoning (chat)'),
  'openai.output.reasoning_format.responses': offset('output', 6, { sameAs: 'openai.output.reasoning_format' }, 'the same in Responses'),
  // --- Hidden reasoning ---
  'openai.reasoning.typical': {
    value: 64,
    kind: 'typical',
    target: 'reasoning',
    fallback: 0,
    integer: true,
    about: 'hidden reasoning tokens of one response, before this process has seen the model report any (not for effort none or minimal)',
  },
} as const satisfies Record<string, FittedConstant>;

export type OpenAIConstantName = keyof typeof OPENAI_CONSTANTS;
export type OpenAIConstants = Readonly<Record<OpenAIConstantName, number>>;

const DEFAULTS: OpenAIConstants = defaultValues(OPENAI_CONSTANTS);

export function openaiConstants(overrides?: EstimatorConstantOverrides): OpenAIConstants {
  return constantValues(OPENAI_CONSTANTS, DEFAULTS, overrides);
}
