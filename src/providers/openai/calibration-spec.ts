/**
 * How self-calibration files OpenAI requests (core/calibration.ts):
 * - output factor and hidden reasoning per model family and reasoning effort (the tokenizer
 *   is public, so the factor only moves within ±3% of 1, for framing the rules miss);
 * - input offset per provider, API, model family and request shape (text, tools, schema):
 *   OpenAI adds prompt tokens of its own to some requests (a steady amount per kind, more
 *   beside strict function tools), which no published rule describes.
 */
import type { CalibrationSpec } from '../../core/adapter.js';
import { modelFamily } from '../../core/calibration.js';
import { effectiveEffort } from './reasoning.js';
import type { RequestShape } from './output-overhead.js';

const OUTPUT_FACTOR_BOUNDS = [0.97, 1.03] as const;
/** A learned input offset stays within these many tokens of the local count. */
const INPUT_OFFSET_BOUNDS = [-64, 1024] as const;
/** The tokenizer is OpenAI's own, so prompts of any size up to the sampling limit teach the offset. */
const INPUT_OFFSET_MAX_TOKENS = 8192;

export function openaiCalibration(
  provider: string,
  api: 'chat' | 'responses' | 'completions',
  model: string | undefined,
  body: unknown,
  shape?: RequestShape,
): CalibrationSpec {
  const family = modelFamily(model);
  const effort = effectiveEffort(model, body);
  const kind = shape ? [shape.tools ? 'tools' : '', shape.jsonSchema ? 'schema' : ''].filter(Boolean).join('+') || 'text' : 'text';
  return {
    outputKey: effort ? `${provider}/${family}#${effort}` : `${provider}/${family}`,
    outputFactorBounds: OUTPUT_FACTOR_BOUNDS,
    inputKey: `${provider}/${api}/${family}/${kind}`,
    inputOffsetBounds: INPUT_OFFSET_BOUNDS,
    inputOffsetMaxTokens: INPUT_OFFSET_MAX_TOKENS,
  };
}
