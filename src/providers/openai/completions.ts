/**
 * OpenAI legacy Completions (`completions.create`, `gen_ai.operation.name` =
 * `text_completion`), streaming and not. Like Chat Completions, a stream reports usage
 * only with `stream_options.include_usage`, in one extra `choices: []` chunk: we ask for
 * it and hide that chunk (and the `usage: null` on the others) from a caller who did not.
 */
import * as sc from '../../semconv.js';
import type { PlanCall, ResponseObserver, ResponseReader } from '../../core/adapter.js';
import type { ReportedUsage } from '../../core/model.js';
import type { TokenCounter } from '../../core/tokenizer.js';
import { providerStreamError } from '../../core/error-summary.js';
import { numericParameters, stopSequences } from '../../core/request-attributes.js';
import { asArray, asDict, asNumber, asString, isDict, type Dict } from '../../core/values.js';
import { completionContent } from './chat-content.js';
import { openaiClientFacts } from './client-facts.js';
import { openaiEncoding } from './encoding.js';
import { isVisibleChunk, requestStreamUsage, withoutInjectedUsage } from './stream-usage.js';
import { completionsRewrite } from './rewrite.js';

const REQUEST_PARAMETERS = {
  temperature: sc.ATTR_GEN_AI_REQUEST_TEMPERATURE,
  top_p: sc.ATTR_GEN_AI_REQUEST_TOP_P,
  frequency_penalty: sc.ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY,
  presence_penalty: sc.ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY,
  seed: sc.ATTR_GEN_AI_REQUEST_SEED,
  n: sc.ATTR_GEN_AI_REQUEST_CHOICE_COUNT,
  max_tokens: sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS,
};

export const planCompletion: PlanCall = (body, resource, settings) => {
  if (!isDict(body)) return undefined;
  const stream = body.stream === true;
  const model = asString(body.model);
  const client = openaiClientFacts(resource);
  const usageRequest = requestStreamUsage(body, settings, client.acceptsStreamOptions);
  return {
    description: {
      provider: client.provider,
      operation: 'text_completion',
      model,
      stream,
      attributes: client.serverAttributes,
      parameters: () => ({ ...numericParameters(body, REQUEST_PARAMETERS), ...stopSequences(body.stop) }),
    },
    body: usageRequest.body,
    injection: usageRequest.injection,
    rewrite: completionsRewrite,
    content: () => completionContent(body),
    reader: new CompletionReader(usageRequest.injected),
    estimator: {
      encoding: openaiEncoding(model),
      estimateInput: (counter) => countPrompt(body.prompt, counter),
      outputFactor: 1,
    },
  };
};

/** Tokens of `prompt`: a string, strings, or token-id arrays (whose length is the count). */
export function countPrompt(prompt: unknown, counter: TokenCounter): number {
  if (typeof prompt === 'string') return counter.count(prompt);
  const items = asArray(prompt);
  if (items.length > 0 && items.every((item) => typeof item === 'number')) return items.length;
  let tokens = 0;
  for (const item of items) {
    if (typeof item === 'string') tokens += counter.count(item);
    else if (Array.isArray(item)) tokens += item.length;
  }
  return tokens;
}

class CompletionReader implements ResponseReader {
  constructor(private readonly usageInjected: boolean) {}

  readChunk(chunk: unknown, observer: ResponseObserver): boolean {
    if (!isDict(chunk)) return true;
    // The SDK throws this event instead of yielding it; a body read as it passes sees it here.
    if (chunk.error != null) observer.reportFailure(providerStreamError(chunk.error));
    observer.identify(chunk.id, chunk.model);
    const usage = asDict(chunk.usage);
    if (usage) observer.reportUsage(completionUsage(usage));
    const choices = asArray(chunk.choices);
    readChoices(choices, observer);
    return isVisibleChunk(this.usageInjected, usage !== undefined, choices.length);
  }

  presentChunk(chunk: unknown): unknown {
    return withoutInjectedUsage(chunk, this.usageInjected);
  }

  readResponse(body: unknown, observer: ResponseObserver): void {
    if (!isDict(body)) return;
    observer.identify(body.id, body.model);
    const usage = asDict(body.usage);
    if (usage) observer.reportUsage(completionUsage(usage));
    readChoices(asArray(body.choices), observer);
    observer.markTerminal();
  }
}

function readChoices(choices: readonly unknown[], observer: ResponseObserver): void {
  for (const choice of choices) {
    if (!isDict(choice)) continue;
    observer.addOutput(choice.text);
    if (choice.finish_reason) {
      observer.addFinishReason(choice.finish_reason);
      observer.markTerminal();
    }
  }
}

function completionUsage(usage: Dict): ReportedUsage {
  return { input: asNumber(usage.prompt_tokens), output: asNumber(usage.completion_tokens) };
}
