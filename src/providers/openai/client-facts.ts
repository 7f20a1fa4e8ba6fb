/**
 * What every request made through one openai client shares: the provider's name, the
 * `server.*` attributes, and whether the endpoint takes `stream_options`; worked out once
 * per client (`perClient`), in one look-up for the whole plan.
 */
import type { Attributes } from '@opentelemetry/api';
import { perClient } from '../../core/per-client.js';
import { clientServerAttributes } from '../../core/request-attributes.js';
import { clientProviderName } from './provider-name.js';
import { acceptsStreamOptions } from './stream-usage.js';

export interface OpenAIClientFacts {
  readonly provider: string;
  readonly serverAttributes: Attributes;
  readonly acceptsStreamOptions: boolean;
}

export const openaiClientFacts: (resource: unknown) => OpenAIClientFacts = perClient((client) => ({
  provider: clientProviderName(client),
  serverAttributes: clientServerAttributes(client),
  acceptsStreamOptions: acceptsStreamOptions(client),
}));
