import { perClient } from '../../core/per-client.js';
import { urlFacts } from '../../core/url-facts.js';
import { asString, type Dict } from '../../core/values.js';

/**
 * `gen_ai.provider.name` for a request made through the openai SDK. The SDK also talks to
 * Azure and to OpenAI-compatible endpoints; the name follows the endpoint: the GenAI
 * conventions' name where they have one for that host, otherwise `openai` (with
 * `server.address` telling the endpoint apart). Worked out once per client.
 */
export const openaiProviderName: (resource: unknown) => string = perClient(clientProviderName);

export function clientProviderName(client: Dict | undefined): string {
  if (constructorName(client) === 'AzureOpenAI') return 'azure.ai.openai';
  return providerNameOfHost(endpointHost(client));
}

/** Endpoints the conventions name, by host. */
const PROVIDER_HOSTS: readonly (readonly [host: RegExp, name: string])[] = [
  [/\.(openai\.azure\.com|cognitiveservices\.azure\.com)$/, 'azure.ai.openai'],
  [/(\.services\.ai\.azure\.com|^models\.inference\.ai\.azure\.com|^models\.github\.ai)$/, 'azure.ai.inference'],
  [/(^|\.)api\.deepseek\.com$/, 'deepseek'],
  [/(^|\.)api\.groq\.com$/, 'groq'],
  [/(^|\.)api\.mistral\.ai$/, 'mistral_ai'],
  [/(^|\.)api\.perplexity\.ai$/, 'perplexity'],
  [/(^|\.)api\.x\.ai$/, 'x_ai'],
  [/(^|\.)api\.cohere\.(ai|com)$/, 'cohere'],
  [/^generativelanguage\.googleapis\.com$/, 'gcp.gemini'],
  [/(^|\.)aiplatform\.googleapis\.com$/, 'gcp.vertex_ai'],
  [/^bedrock-runtime(-fips)?\.[a-z0-9-]+\.amazonaws\.com$/, 'aws.bedrock'],
  [/\.ml\.cloud\.ibm\.com$/, 'ibm.watsonx.ai'],
];

export function providerNameOfHost(host: string): string {
  for (const [pattern, name] of PROVIDER_HOSTS) if (pattern.test(host)) return name;
  return 'openai';
}

/** The lower-case host name of the client's base URL; '' when it has none. */
export function endpointHost(client: Dict | undefined): string {
  // No usable base URL: '' (the SDK's default is OpenAI itself).
  return urlFacts(asString(client?.baseURL) ?? '')?.hostname.toLowerCase() ?? '';
}

function constructorName(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? value.constructor?.name : undefined;
}
