/**
 * The emulator's own o200k_base tokenizer. It is independent of the instrumentation's
 * estimator on purpose: the emulator plays the provider, so its counts are the
 * "reported" truth that the instrumentation is tested against.
 */

export interface EmulatorTokenizer {
  /** Tokens in `text`; special-token markers are counted as plain text. */
  count(text: string): number;
  encode(text: string): number[];
  decode(tokens: number[]): string;
}

interface Encoder {
  encode(text: string, allowedSpecial?: string[] | 'all', disallowedSpecial?: string[] | 'all'): number[];
  decode(tokens: number[]): string;
}

let loading: Promise<EmulatorTokenizer> | undefined;

/**
 * Loads o200k_base once, on first use: building the rank table takes a few hundred
 * milliseconds, which a process that never starts the emulator should not pay.
 */
export function loadTokenizer(): Promise<EmulatorTokenizer> {
  if (!loading) {
    loading = build();
    // Let a later call retry if the load failed.
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

async function build(): Promise<EmulatorTokenizer> {
  const [{ Tiktoken }, ranks] = await Promise.all([import('js-tiktoken/lite'), import('js-tiktoken/ranks/o200k_base')]);
  const encoder: Encoder = new Tiktoken(ranks.default);
  // Empty allow/deny lists: user text containing "<|endoftext|>" must not throw.
  const encode = (text: string): number[] => (text.length === 0 ? [] : encoder.encode(text, [], []));
  return {
    count: (text) => encode(text).length,
    encode,
    decode: (tokens) => encoder.decode(tokens),
  };
}
