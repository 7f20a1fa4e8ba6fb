/**
 * The setup most test files share: the project's emulator on 127.0.0.1, the real
 * OpenTelemetry SDK with in-memory exporters (`startOtel`), and SDK clients pointed at the
 * emulator. Called at the top of a file (or of a `describe`), it registers the node:test
 * hooks in that scope: start the emulator before, stop it and shut the SDK down after, and
 * give every test a fresh start (no spans, no learned calibration, an empty request log).
 * node:test runs `after` and `beforeEach` hooks in the order they were registered, so a
 * file's own hooks run after these: its tests see a reset harness, and its own teardown runs
 * once the emulator has stopped and the SDK has shut down.
 */
import { after, before, beforeEach } from 'node:test';
import type OpenAIClass from 'openai';
import type AnthropicClass from '@anthropic-ai/sdk';
import { startEmulator, type ProviderEmulator } from '../../src/emulator/index.js';
import type { LLMCostInstrumentationConfig } from '../../src/index.js';
import { startOtel, type TestOtel } from './otel.js';

export type OpenAIClient = InstanceType<typeof OpenAIClass>;
export type AnthropicClient = InstanceType<typeof AnthropicClass>;
export type OpenAIOptions = NonNullable<ConstructorParameters<typeof OpenAIClass>[0]>;
export type AnthropicOptions = NonNullable<ConstructorParameters<typeof AnthropicClass>[0]>;

export interface EmulatorHarness {
  /** The running emulator; read it inside tests and `setup` hooks (it starts in `before`). */
  readonly emulator: ProviderEmulator;
  /**
   * A `before` hook that runs once the emulator is up. Use it, not a plain `before`, for setup
   * that needs the emulator: at the top level of a file, Node 20 starts every `before` hook
   * as it is registered, without waiting for the ones before it.
   */
  setup(fn: () => void | Promise<void>): void;
}

export interface Harness extends EmulatorHarness {
  readonly otel: TestOtel;
  /** An instrumented OpenAI client on the emulator, without retries; `options` override the defaults. */
  openai(options?: OpenAIOptions): OpenAIClient;
  /** An instrumented Anthropic client on the emulator, without retries; `options` override the defaults. */
  anthropic(options?: AnthropicOptions): AnthropicClient;
}

/** The emulator alone, for files that bring their own OpenTelemetry setup or none. */
export function useEmulator(): EmulatorHarness {
  let running: ProviderEmulator | undefined;
  let starting: Promise<ProviderEmulator> | undefined;
  const start = () => (starting ??= startEmulator().then((started) => (running = started)));
  before(async () => {
    await start();
  });
  after(async () => {
    await running?.stop();
  });
  beforeEach(() => running?.reset());
  return {
    get emulator(): ProviderEmulator {
      if (!running) throw new Error('the emulator starts in before(): read it inside tests and setup() hooks');
      return running;
    },
    setup(fn) {
      before(async () => {
        await start();
        await fn();
      });
    },
  };
}

/**
 * The emulator, the OpenTelemetry SDK with `config` for the instrumentation, and client
 * factories. Call it before anything requires `openai` or `@anthropic-ai/sdk` (as `startOtel`).
 */
export function useHarness(config: LLMCostInstrumentationConfig = {}): Harness {
  const otel = startOtel(config);
  const emulated = useEmulator();
  after(async () => {
    await otel.shutdown();
  });
  beforeEach(() => otel.reset());
  return {
    otel,
    get emulator() {
      return emulated.emulator;
    },
    setup: emulated.setup,
    openai: (options = {}) => new otel.OpenAI({ apiKey: 'test-key', baseURL: emulated.emulator.openaiBaseURL, maxRetries: 0, ...options }),
    anthropic: (options = {}) => new otel.Anthropic({ apiKey: 'test-key', baseURL: emulated.emulator.anthropicBaseURL, maxRetries: 0, ...options }),
  };
}
