/**
 * The counting itself, shared by the tokenizer worker and the main-thread fallback:
 * js-tiktoken plus the long-run guard.
 *
 * js-tiktoken's byte-pair merge is quadratic in the length of one pre-tokenised piece
 * (`'a'.repeat(1000)` takes ~100 ms, 10k ~7 s). Long whitespace-free runs are therefore
 * counted in short slices, and very long ones by extrapolating from a sample of slices:
 * the count stays exact for prose and code and within a few percent for base64 or
 * minified blobs, at a bounded cost.
 */

export type EncodingName = 'o200k_base' | 'cl100k_base';

/** An encoding's rank table, as js-tiktoken's `ranks/<encoding>` modules export it. */
export interface EncodingRanks {
  readonly pat_str: string;
  readonly special_tokens: Record<string, number>;
  readonly bpe_ranks: string;
}

export interface Encoder {
  encode(text: string, allowedSpecial?: string[] | 'all', disallowedSpecial?: string[] | 'all'): number[];
}

/** Runs of non-whitespace longer than this are counted slice by slice. */
const LONG_RUN = /\S{129,}/g;
const SLICE_CHARS = 64;
/** At most this many slices of one run are tokenised; the rest is extrapolated. */
const SAMPLED_SLICES = 32;

/**
 * Builds an encoder: ~600 ms for o200k, so done once per thread, on first need. `ranks`:
 * the table when it was loaded elsewhere (a worker that cannot load modules of its own).
 */
export async function loadEncoder(encoding: EncodingName, ranks?: EncodingRanks): Promise<Encoder> {
  const [{ Tiktoken }, table] = await Promise.all([import('js-tiktoken/lite'), ranks ?? importRanks(encoding)]);
  return new Tiktoken(table);
}

export async function importRanks(encoding: EncodingName): Promise<EncodingRanks> {
  const module =
    encoding === 'cl100k_base'
      ? await import('js-tiktoken/ranks/cl100k_base')
      : await import('js-tiktoken/ranks/o200k_base');
  return module.default;
}

function encodeLength(encoder: Encoder, text: string): number {
  return text.length === 0 ? 0 : encoder.encode(text, [], []).length;
}

/** Tokens in `text`, special-token markers counted as plain text, long runs guarded. */
export function countGuarded(encoder: Encoder, text: string): number {
  LONG_RUN.lastIndex = 0;
  const hasLongRun = LONG_RUN.test(text);
  // matchAll starts from the pattern's lastIndex, which test() just moved past the run.
  LONG_RUN.lastIndex = 0;
  if (!hasLongRun) return encodeLength(encoder, text);
  let total = 0;
  let last = 0;
  for (const match of text.matchAll(LONG_RUN)) {
    total += encodeLength(encoder, text.slice(last, match.index));
    total += countLongRun(encoder, match[0]);
    last = match.index + match[0].length;
  }
  return total + encodeLength(encoder, text.slice(last));
}

function countLongRun(encoder: Encoder, run: string): number {
  let tokens = 0;
  let counted = 0;
  for (let i = 0; i < SAMPLED_SLICES && counted < run.length; i++) {
    const slice = run.slice(counted, counted + SLICE_CHARS);
    tokens += encodeLength(encoder, slice);
    counted += slice.length;
  }
  return counted === run.length ? tokens : Math.round((tokens * run.length) / counted);
}
