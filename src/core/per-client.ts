/**
 * Facts about an SDK client that every request made through it shares (its provider's
 * name, its `server.*` attributes, whether its endpoint takes an option), worked out once
 * per client instead of once per request: matching a base URL against the known hosts took
 * several microseconds of each `create()` call. Kept per client object and base URL (a
 * client whose `baseURL` is changed is looked at again); held weakly, so a dropped client
 * takes its entry with it.
 */
import { asDict, type Dict } from './values.js';

/** `compute(client)`, remembered per client and base URL; `resource` is the SDK resource (`client.chat.completions`) or anything holding `_client`. */
export function perClient<T>(compute: (client: Dict | undefined) => T): (resource: unknown) => T {
  const known = new WeakMap<Dict, { readonly baseURL: unknown; readonly value: T }>();
  return (resource) => {
    const client = asDict(asDict(resource)?._client);
    if (client === undefined) return compute(undefined);
    const baseURL = client.baseURL;
    const entry = known.get(client);
    if (entry !== undefined && entry.baseURL === baseURL) return entry.value;
    const value = compute(client);
    known.set(client, { baseURL, value });
    return value;
  };
}
