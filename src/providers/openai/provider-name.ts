import { asDict, asString } from '../../core/values.js';

/**
 * `gen_ai.provider.name` for a request made through the openai SDK. The SDK also talks to
 * Azure and to OpenAI-compatible endpoints; the name follows the endpoint.
 */
export function openaiProviderName(resource: unknown): string {
  const client = asDict(asDict(resource)?._client);
  const baseURL = asString(client?.baseURL) ?? '';
  let host = '';
  try {
    host = new URL(baseURL).hostname;
  } catch {
    // no usable base URL: the SDK's default is OpenAI itself
  }
  if (host.endsWith('.openai.azure.com') || host.endsWith('.cognitiveservices.azure.com')) return 'azure.ai.openai';
  if (constructorName(client) === 'AzureOpenAI') return 'azure.ai.openai';
  return 'openai';
}

function constructorName(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? value.constructor?.name : undefined;
}
