// The instrumentation scope of every span; test/version.test.ts keeps it in step with package.json.
export const PACKAGE_NAME = 'otel-llm-cost';
export const PACKAGE_VERSION = '0.1.0';
/** The `@pydantic/genai-prices` version pinned in package.json, whose data is bundled (kept in step by test/price-catalog.test.ts). */
export const GENAI_PRICES_VERSION = '0.1.8';
