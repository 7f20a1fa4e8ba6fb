/**
 * OpenAI Embeddings (`embeddings.create`, `gen_ai.operation.name` = `embeddings`): cost
 * only. The provider reports the input tokens; an embedding generates no output tokens,
 * so output is a reported 0.
 */
import type { PlanCall, ResponseObserver, ResponseReader } from '../../core/adapter.js';
import { serverAttributes } from '../../core/request-attributes.js';
import { asDict, asNumber, asString, isDict } from '../../core/values.js';
import { countPrompt } from './completions.js';
import { openaiEncoding } from './encoding.js';
import { openaiProviderName } from './provider-name.js';

export const planEmbeddings: PlanCall = (body, resource) => {
  if (!isDict(body)) return undefined;
  const model = asString(body.model);
  return {
    description: {
      provider: openaiProviderName(resource),
      operation: 'embeddings',
      model,
      stream: false,
      attributes: serverAttributes(resource),
    },
    body,
    reader: embeddingsReader,
    estimator: {
      encoding: openaiEncoding(model),
      estimateInput: (counter) => countPrompt(body.input, counter),
      outputFactor: 1,
    },
  };
};

const embeddingsReader: ResponseReader = {
  readChunk: () => true,
  readResponse(body: unknown, observer: ResponseObserver): void {
    if (!isDict(body)) return;
    observer.identify(undefined, body.model);
    const input = asNumber(asDict(body.usage)?.prompt_tokens);
    if (input !== undefined) observer.reportUsage({ input, output: 0 });
    observer.markTerminal();
  },
};
