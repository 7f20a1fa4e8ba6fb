/** Request attributes every provider shares: the server, and the usual sampling parameters. */
import type { Attributes } from '@opentelemetry/api';
import * as sc from '../semconv.js';
import { perClient } from './per-client.js';
import { asNumber, asString, type Dict } from './values.js';
import { urlFacts } from './url-facts.js';

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/**
 * `server.address` and `server.port` from the client's base URL. Only host and port are
 * kept: never credentials, path or query string. Frozen: shared by every request of a
 * client (`serverAttributes`), copied, never changed.
 */
export function clientServerAttributes(client: Dict | undefined): Attributes {
  const baseURL = asString(client?.baseURL);
  const url = baseURL ? urlFacts(baseURL) : undefined;
  return url ? Object.freeze({ [sc.ATTR_SERVER_ADDRESS]: url.hostname, [sc.ATTR_SERVER_PORT]: url.port }) : NO_ATTRIBUTES;
}

/** `clientServerAttributes` of the resource's client, worked out once per client. */
export const serverAttributes: (resource: unknown) => Attributes = perClient(clientServerAttributes);

/** Numeric request parameters, copied when present and numeric. */
export function numericParameters(body: Dict, names: Readonly<Record<string, string>>): Attributes {
  const attributes: Attributes = {};
  for (const [field, attribute] of Object.entries(names)) {
    const value = asNumber(body[field]);
    if (value !== undefined) attributes[attribute] = value;
  }
  return attributes;
}

export function stopSequences(value: unknown): Attributes {
  if (typeof value === 'string') return { [sc.ATTR_GEN_AI_REQUEST_STOP_SEQUENCES]: [value] };
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return { [sc.ATTR_GEN_AI_REQUEST_STOP_SEQUENCES]: value as string[] };
  }
  return {};
}
