/**
 * `otel-llm-cost/emulator`: a local HTTP server that speaks the OpenAI and Anthropic
 * wire protocols well enough for the real SDKs, with scriptable failures and replays
 * of recorded traffic. For tests, demos and offline dashboard checks.
 *
 *   const emulator = await startEmulator();
 *   const openai = new OpenAI({ baseURL: emulator.openaiBaseURL, apiKey: 'test' });
 *   await openai.chat.completions.create(body, scriptHeaders({ outputTokens: 50, dropAfterChunks: 5 }));
 */

import { EMULATOR_SCRIPT_HEADER } from './types.js';
import type { EmulatorScript } from './types.js';

export { ProviderEmulator, startEmulator } from './server.js';
export type { EmulatorEvents } from './server.js';
export { EMULATOR_SCRIPT_HEADER } from './types.js';
export type {
  EmulatorOptions,
  EmulatorOutcome,
  EmulatorProvider,
  EmulatorRequestLog,
  EmulatorScript,
  Recording,
} from './types.js';
export { loadTokenizer } from './tokenizer.js';
export type { EmulatorTokenizer } from './tokenizer.js';
export {
  ANTHROPIC_MESSAGE_OVERHEAD,
  anthropicInputTokens,
  chatPromptTokens,
  inputTokensEach,
} from './prompt-tokens.js';
export { responsesInputTokens } from './openai-responses.js';
export { DEFAULT_OUTPUT_TOKENS } from './output.js';
export { EMBEDDING_DIMENSIONS } from './openai-legacy.js';
export { anthropicResponseModel, openaiResponseModel } from './models.js';

/** Request options carrying a script, for either SDK: `create(body, scriptHeaders({...}))`. */
export function scriptHeaders(script: EmulatorScript): { headers: Record<string, string> } {
  return { headers: { [EMULATOR_SCRIPT_HEADER]: JSON.stringify(script) } };
}
