/**
 * Replays recordings through the real SDKs, the emulator and the instrumentation, and
 * collects what the instrumentation wrote (`onCost`) for each one, in four passes: usage
 * stripped (the instrumentation estimates), streams cut short after half their content
 * chunks (usage never arrives), streams that end before their terminal events (whatever
 * usage came earlier is kept), and usage kept (it must be exact).
 *
 * The modules are passed in, so the command runs the built package (`dist/`) and the test
 * the sources, with the same pipeline.
 */
import { createRequire } from 'node:module';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import type { CostRecord } from '../src/core/model.js';
import { contentPieces, cutPoint, REPLAYED_APIS, type AccuracyRecording } from './accuracy-records.js';

interface Instrumentation {
  flush(): Promise<void>;
  setConfig(config: InstrumentationConfig): void;
}

interface InstrumentationConfig {
  onCost: (record: CostRecord) => void;
  estimatorConstants?: Readonly<Record<string, number>>;
}

interface Emulator {
  openaiBaseURL: string;
  anthropicBaseURL: string;
  addRecording(id: string, record: object): void;
  reset(): void;
  stop(): Promise<void>;
}

export interface PipelineModules {
  LLMCostInstrumentation: new (config: InstrumentationConfig) => Instrumentation;
  startEmulator: () => Promise<Emulator>;
  scriptHeaders: (script: object) => { headers: Record<string, string> };
}

export interface ReplayResult {
  cost: CostRecord | undefined;
  error: string | undefined;
  /** Cut pass: the content the client received before the cut. */
  receivedText: string;
}

export interface PipelineResults {
  reported: ReplayResult[];
  stripped: ReplayResult[];
  cut: { index: number; cutAfter: number; result: ReplayResult }[];
  /**
   * Streams replayed without their terminal events (usage kept in the others): how a stream
   * that ends before its final usage looks. Anthropic's `message_start` still reports input
   * and cache, so only the output is estimated.
   */
  unterminated: { index: number; result: ReplayResult }[];
  /**
   * With `calibratedPass`: usage stripped again, after the reported pass taught the
   * self-calibration. In-sample (the process saw these very records' usage): it shows what
   * calibration does, not how well it generalises.
   */
  calibrated?: ReplayResult[];
  /**
   * With `folds`: usage stripped, each record estimated with the constants of its fold
   * (fitted without its source): the leave-one-source-out figures.
   */
  outOfSource?: ReplayResult[];
}

/** One leave-one-source-out fold: the records of one source, and the constants fitted without it. */
export interface Fold {
  source: string;
  indexes: readonly number[];
  constants: Readonly<Record<string, number>>;
}

export interface PipelineOptions {
  concurrency: number;
  onProgress?: (done: number) => void;
  calibratedPass?: boolean;
  /** Leave-one-source-out folds, replayed stripped before anything teaches the calibration. */
  folds?: readonly Fold[];
}

type Create = (body: object, options: object) => Promise<unknown>;
const requireHere = createRequire(__filename);

export async function runPipeline(recordings: readonly AccuracyRecording[], modules: PipelineModules, options: PipelineOptions): Promise<PipelineResults> {
  const seen = new Map<string, CostRecord>();
  /** Follow-ups waiting for a response's cost (two may continue the same response). */
  const waiting = new Map<string, (() => void)[]>();
  const onCost = (cost: CostRecord): void => {
    if (!cost.responseId) return;
    seen.set(cost.responseId, cost);
    for (const resume of waiting.get(cost.responseId) ?? []) resume();
    waiting.delete(cost.responseId);
  };
  const instrumentation = new modules.LLMCostInstrumentation({ onCost });
  /** Resolves once this pass has written the cost of `responseId` (or after 10 s, if it never does). */
  const settled = (responseId: string): Promise<void> =>
    seen.has(responseId)
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          const list = waiting.get(responseId) ?? [];
          list.push(() => {
            clearTimeout(timer);
            resolve();
          });
          waiting.set(responseId, list);
        });
  const sdk = new NodeSDK({
    spanProcessors: [new tracing.SimpleSpanProcessor(new DiscardingExporter())],
    instrumentations: [instrumentation as never],
  });
  sdk.start();
  const emulator = await modules.startEmulator();
  try {
    // Required only after the SDK started, as in an application: the instrumentation patches them on load.
    const { OpenAI } = requireHere('openai') as { OpenAI: new (o: object) => OpenAIClient };
    const { Anthropic } = requireHere('@anthropic-ai/sdk') as { Anthropic: new (o: object) => AnthropicClient };
    const openai = new OpenAI({ apiKey: 'accuracy', baseURL: emulator.openaiBaseURL, maxRetries: 0, timeout: 60_000 });
    const anthropic = new Anthropic({ apiKey: 'accuracy', baseURL: emulator.anthropicBaseURL, maxRetries: 0, timeout: 60_000 });
    const createFor = (recording: AccuracyRecording): Create => {
      if (recording.api === 'messages') return anthropic.messages.create.bind(anthropic.messages) as Create;
      if (recording.api === 'responses') return openai.responses.create.bind(openai.responses) as Create;
      return openai.chat.completions.create.bind(openai.chat.completions) as Create;
    };
    for (const [i, recording] of recordings.entries()) emulator.addRecording(`r${i}`, recording);
    // A record that continues an earlier one of the file (`previous_response_id`) is sent only
    // once that one's cost is written, as an application sends a follow-up after the answer.
    const indexOf = new Map(recordings.map((recording, i) => [recording.response_id, i]));
    const predecessor = (i: number): string | undefined => {
      const id = recordings[i]!.request.previous_response_id;
      return typeof id === 'string' && (indexOf.get(id) ?? i) < i ? id : undefined;
    };
    const usable = recordings.map((_, i) => i).filter((i) => REPLAYED_APIS.has(recordings[i]!.api));

    let done = 0;
    const runPass = async (indexes: readonly number[], script: (i: number) => object): Promise<Map<number, ReplayResult>> => {
      seen.clear();
      const errors = new Map<number, string>();
      const inPass = new Set(indexes.map((i) => recordings[i]!.response_id));
      await pool(indexes, options.concurrency, async (i) => {
        const recording = recordings[i]!;
        const previous = predecessor(i);
        if (previous !== undefined && inPass.has(previous)) await settled(previous);
        try {
          await send(createFor(recording), recording, modules.scriptHeaders({ replay: `r${i}`, ...script(i) }));
        } catch (error) {
          errors.set(i, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
        }
        options.onProgress?.(++done);
      });
      await instrumentation.flush();
      emulator.reset();
      const results = new Map<number, ReplayResult>();
      for (const i of indexes) {
        results.set(i, { cost: seen.get(recordings[i]!.response_id), error: errors.get(i), receivedText: '' });
      }
      return results;
    };

    const missing = (): ReplayResult => ({ cost: undefined, error: 'API not replayed', receivedText: '' });
    // Estimating passes first: the process has then seen no reported usage, so they measure
    // the fitted defaults a fresh process starts from, not a calibration learned from the
    // very records being measured.
    const stripped = await runPass(usable, () => ({ stripUsage: true }));
    // Each source with the constants fitted without it (the estimating passes all run
    // before the reported pass teaches anything).
    let outOfSource: Map<number, ReplayResult> | undefined;
    if (options.folds) {
      outOfSource = new Map();
      for (const fold of options.folds) {
        instrumentation.setConfig({ onCost, estimatorConstants: fold.constants });
        const replayable = fold.indexes.filter((i) => REPLAYED_APIS.has(recordings[i]!.api));
        for (const [i, result] of await runPass(replayable, () => ({ stripUsage: true }))) outOfSource.set(i, result);
      }
      instrumentation.setConfig({ onCost });
    }
    const cuts = new Map<number, number>();
    for (const i of usable) {
      const at = cutPoint(recordings[i]!);
      if (at !== undefined) cuts.set(i, at);
    }
    const cut = await runPass([...cuts.keys()], (i) => ({ stripUsage: true, dropAfterChunks: cuts.get(i) }));
    const streams = usable.filter((i) => recordings[i]!.stream);
    const unterminated = await runPass(streams, () => ({ stripUsage: false, omitTerminal: true }));
    const reported = await runPass(usable, () => ({ stripUsage: false }));
    let calibrated: Map<number, ReplayResult> | undefined;
    if (options.calibratedPass) {
      // Learning counts sampled texts in the tokenizer worker without anyone waiting: let it land.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      calibrated = await runPass(usable, () => ({ stripUsage: true }));
    }
    return {
      ...(calibrated ? { calibrated: recordings.map((_, i) => calibrated?.get(i) ?? missing()) } : {}),
      ...(outOfSource ? { outOfSource: recordings.map((_, i) => outOfSource?.get(i) ?? missing()) } : {}),
      unterminated: streams.map((index) => ({ index, result: unterminated.get(index) ?? missing() })),
      reported: recordings.map((_, i) => reported.get(i) ?? missing()),
      stripped: recordings.map((_, i) => stripped.get(i) ?? missing()),
      cut: [...cuts].map(([index, cutAfter]) => {
        const pieces = contentPieces(recordings[index]!);
        const result = cut.get(index) ?? missing();
        return { index, cutAfter, result: { ...result, receivedText: pieces.slice(0, cutAfter).join('') } };
      }),
    };
  } finally {
    await emulator.stop();
    await sdk.shutdown();
  }
}

async function send(create: Create, recording: AccuracyRecording, options: object): Promise<void> {
  const body: Record<string, unknown> = { ...recording.request, stream: recording.stream };
  if (!recording.stream) delete body.stream_options;
  const result = await create(body, options);
  if (recording.stream) for await (const _ of result as AsyncIterable<unknown>) void _;
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

interface Creator {
  create: (...args: never[]) => unknown;
}
interface OpenAIClient {
  chat: { completions: Creator };
  responses: Creator;
}
interface AnthropicClient {
  messages: Creator;
}

/** `onCost` carries the figures; no span needs keeping. */
class DiscardingExporter implements tracing.SpanExporter {
  export(_spans: tracing.ReadableSpan[], done: (result: { code: 0 }) => void): void {
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}
