/**
 * Every attribute and metric name this package writes, in one place.
 * `gen_ai.*` names follow the OpenTelemetry GenAI semantic conventions (v1.41, the
 * last core release that defines them); `llm_cost.*` names are this package's own,
 * because the conventions have no cost or estimation attributes yet.
 */

export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const ATTR_GEN_AI_REQUEST_STREAM = 'gen_ai.request.stream';
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens';
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature';
export const ATTR_GEN_AI_REQUEST_TOP_P = 'gen_ai.request.top_p';
export const ATTR_GEN_AI_REQUEST_TOP_K = 'gen_ai.request.top_k';
export const ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY = 'gen_ai.request.frequency_penalty';
export const ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY = 'gen_ai.request.presence_penalty';
export const ATTR_GEN_AI_REQUEST_STOP_SEQUENCES = 'gen_ai.request.stop_sequences';
export const ATTR_GEN_AI_REQUEST_SEED = 'gen_ai.request.seed';
export const ATTR_GEN_AI_REQUEST_CHOICE_COUNT = 'gen_ai.request.choice.count';
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model';
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id';
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons';
export const ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk';
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
export const ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation.input_tokens';
export const ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens';
export const ATTR_GEN_AI_TOKEN_TYPE = 'gen_ai.token.type';
/** Opt-in content attributes (conventions v1.37+): JSON strings of typed message parts. */
export const ATTR_GEN_AI_SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions';
export const ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages';
export const ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const EVENT_EXCEPTION = 'exception';
export const ATTR_EXCEPTION_TYPE = 'exception.type';
export const ATTR_EXCEPTION_MESSAGE = 'exception.message';
export const ATTR_EXCEPTION_STACKTRACE = 'exception.stacktrace';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';

export const ATTR_LLM_COST_INPUT_TOKENS_SOURCE = 'llm_cost.usage.input_tokens.source';
/**
 * On an estimated input the provider changes out of the client's sight: `lower` (it adds
 * input: server-side tools, redacted thinking, stored context), `upper` (it removes some:
 * server-side context management) or `neither` (both).
 */
export const ATTR_LLM_COST_INPUT_TOKENS_BOUND = 'llm_cost.usage.input_tokens.bound';
export const ATTR_LLM_COST_OUTPUT_TOKENS_SOURCE = 'llm_cost.usage.output_tokens.source';
export const ATTR_LLM_COST_USD = 'llm_cost.cost.usd';
export const ATTR_LLM_COST_INPUT_USD = 'llm_cost.cost.input_usd';
export const ATTR_LLM_COST_OUTPUT_USD = 'llm_cost.cost.output_usd';
export const ATTR_LLM_COST_SOURCE = 'llm_cost.cost.source';
export const ATTR_LLM_COST_PRICE_MODEL = 'llm_cost.cost.price_model';
/** `override` (the `priceOverrides` option) | `genai-prices` (its bundled data, or data fetched with `priceUpdates`). */
export const ATTR_LLM_COST_PRICE_SOURCE = 'llm_cost.cost.price_source';
export const ATTR_LLM_COST_STREAM_OUTCOME = 'llm_cost.stream.outcome';
export const ATTR_LLM_COST_STREAM_CHUNKS = 'llm_cost.stream.chunks';
/** The content attributes that were cut to the `messageContentMaxLength` bound. */
export const ATTR_LLM_COST_CONTENT_TRUNCATED = 'llm_cost.content.truncated';
/** The provider's error type and code on a failed request (e.g. `authentication_error`, `invalid_api_key`). */
export const ATTR_LLM_COST_ERROR_PROVIDER_TYPE = 'llm_cost.error.provider_type';
export const ATTR_LLM_COST_ERROR_CODE = 'llm_cost.error.code';
/**
 * HTTP requests sent for one logical request: 1, plus the SDK's own retries (429, 5xx,
 * dropped connections). The conventions have no such attribute on GenAI spans (HTTP's
 * `http.request.resend_count` describes one HTTP span per attempt); absent when the
 * attempts could not be seen.
 */
export const ATTR_LLM_COST_REQUEST_ATTEMPTS = 'llm_cost.request.attempts';
export const ATTR_LLM_COST_BUDGET_NAME = 'llm_cost.budget.name';
export const ATTR_LLM_COST_BUDGET_LIMIT_USD = 'llm_cost.budget.limit_usd';
/** The budget's total after this request (a shared store: the fleet's total as last seen). */
export const ATTR_LLM_COST_BUDGET_SPENT_USD = 'llm_cost.budget.spent_usd';
/** Every budget the request was charged to, innermost first. */
export const ATTR_LLM_COST_BUDGET_NAMES = 'llm_cost.budget.names';
/** `preflight` | `midstream`: on spans a budget stopped, and on the trip counter. */
export const ATTR_LLM_COST_BUDGET_REASON = 'llm_cost.budget.reason';
/** The model the caller asked for, when a budget's fallback sent another one. */
export const ATTR_LLM_COST_BUDGET_REQUESTED_MODEL = 'llm_cost.budget.requested_model';
/** The output-token limit a budget's clamp set. */
export const ATTR_LLM_COST_BUDGET_CLAMPED_MAX_TOKENS = 'llm_cost.budget.clamped_max_tokens';
/** On metrics: where the value of this token type came from (`reported` | `estimated`). */
export const ATTR_LLM_COST_SOURCE_METRIC = 'llm_cost.source';

export const METRIC_GEN_AI_CLIENT_TOKEN_USAGE = 'gen_ai.client.token.usage';
export const METRIC_GEN_AI_CLIENT_OPERATION_DURATION = 'gen_ai.client.operation.duration';
export const METRIC_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK = 'gen_ai.client.operation.time_to_first_chunk';
export const METRIC_LLM_COST_SPEND = 'llm_cost.spend';
export const METRIC_LLM_COST_BUDGET_EXCEEDED = 'llm_cost.budget.exceeded';

/** Bucket boundaries the conventions give for `gen_ai.client.token.usage`. */
export const TOKEN_USAGE_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
/** Bucket boundaries the conventions give for the duration histograms, in seconds. */
export const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/** The factor applied to locally counted output tokens when the output was estimated (see docs/accuracy.md). */
export const ATTR_LLM_COST_ESTIMATE_CALIBRATION = 'llm_cost.estimate.calibration';

// --- Pricing: service tiers, cache-write TTLs, server-side tool fees, price data ---

/** The service tier the request asked for (conventions: `openai.request.service_tier`). */
export const ATTR_OPENAI_REQUEST_SERVICE_TIER = 'openai.request.service_tier';
/** The service tier the provider says it served (conventions: `openai.response.service_tier`). */
export const ATTR_OPENAI_RESPONSE_SERVICE_TIER = 'openai.response.service_tier';
/**
 * The service tier the cost was priced for, in one vocabulary for every provider:
 * `standard`, `flex`, `batch`, `priority`, `scale`, or the provider's own word for others.
 */
export const ATTR_LLM_COST_SERVICE_TIER = 'llm_cost.cost.service_tier';
/**
 * How the token prices were chosen (docs/pricing.md): `list` (the price data as it is),
 * `tier_override` (the `priceOverrides` option's prices for the tier), `tier_multiplier`
 * (a multiplier the provider documents for every model of the tier), `standard_tier` (no
 * price is known for the tier served: standard prices, and the cost is `estimated`).
 */
export const ATTR_LLM_COST_PRICE_BASIS = 'llm_cost.cost.price_basis';
/**
 * The price data that priced the span: `genai-prices@<version>` (the bundled data),
 * `fetched <ISO date-time>` (data fetched with `priceUpdates`), or `override`.
 */
export const ATTR_LLM_COST_PRICE_DATA = 'llm_cost.cost.price_data';
/** USD of server-side tool fees (web search, file search, ...), on top of the tokens; inside `llm_cost.cost.usd`. */
export const ATTR_LLM_COST_TOOL_USD = 'llm_cost.cost.tool_usd';
/** Server-side tools that were called but that no known price covers (their fee is not in the cost). */
export const ATTR_LLM_COST_UNPRICED_TOOLS = 'llm_cost.cost.unpriced_tools';
/** Cache writes with the 1-hour lifetime (Anthropic), inside `gen_ai.usage.cache_creation.input_tokens`. */
export const ATTR_LLM_COST_USAGE_CACHE_CREATION_1H_INPUT_TOKENS = 'llm_cost.usage.cache_creation_1h.input_tokens';
/** Calls of one server-side tool: `llm_cost.tool.<tool>.calls` (`web_search`, `file_search`, ...). */
export const toolCallsAttribute = (tool: string): string => `llm_cost.tool.${tool}.calls`;

/** On `llm_cost.spend`: `tokens` (with `gen_ai.token.type`) or `tool` (with `llm_cost.tool.name`). */
export const ATTR_LLM_COST_COST_KIND = 'llm_cost.cost.kind';
/** On `llm_cost.spend` with kind `tool`: which server-side tool. */
export const ATTR_LLM_COST_TOOL_NAME = 'llm_cost.tool.name';
/** Tokens of requests no price covers (`unpriced`), by model and token type: traffic the spend misses. */
export const METRIC_LLM_COST_UNPRICED_TOKENS = 'llm_cost.unpriced.tokens';

/** How the estimated values were obtained: `local` (counted here) or `provider_count` (the provider's counting endpoint). */
export const ATTR_LLM_COST_ESTIMATE_METHOD = 'llm_cost.estimate.method';
