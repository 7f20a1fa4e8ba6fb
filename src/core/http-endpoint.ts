/**
 * A provider API as reached over plain HTTP (through `costFetch` or the instrumented global
 * `fetch`) rather than through its SDK: the URL paths that name it, and the same plan the
 * SDK hook uses. The plan receives a client-shaped description of the endpoint
 * (`{ _client: { baseURL } }`), which is all the plans read of an SDK resource.
 */
import type { PlanCall } from './adapter.js';

export interface HttpEndpoint {
  /** What the request is, for diagnostics (`openai chat.completions`). */
  readonly label: string;
  /** Paths after a base URL that name this API (`/chat/completions`). */
  readonly paths: readonly string[];
  /** The provider's own base URLs, recognised without configuration. */
  readonly officialBaseURLs: readonly string[];
  readonly plan: PlanCall;
}
