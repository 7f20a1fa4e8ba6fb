/**
 * Refits the estimators' fitted constants (src/providers/{openai,anthropic}/constants.ts)
 * from any set of recordings, so `npm run accuracy -- <file> --by-source` can fit them on
 * all sources but one and measure on the one left out.
 *
 * Each record is read once through the provider adapter exactly as the instrumentation
 * reads it (the plan, the response reader fed the recorded events or body), and its
 * estimate is linearised in the constants: the estimate at the shipped values plus, per
 * constant, how much one more unit of it moves the estimate (found by moving it: the
 * code itself says which records a constant touches). Fitting is then a small routine per
 * constant, over the records it touches:
 * - `offset`: the weighted median of the residual per occurrence, weights occurrence /
 *   reported (the median of the relative error is what the targets measure);
 * - `factor`: the value, on a 0.01 grid, with the least median relative error; a factor
 *   that others fall back to (Claude's general one) is first fitted on all their records
 *   together, then each refines it on its own;
 * - `typical` (hidden reasoning): the median of the reported reasoning tokens where
 *   reasoning may have happened.
 * Offsets and factors of one estimate are fitted together by coordinate descent. Counting is
 * the instrumentation's own (js-tiktoken with its long-run guard).
 *
 * Which constants ship is decided on all the data: one supported by fewer than two sources
 * (or three records) falls back (to a fixed value, or to its parent constant, whose fit then
 * also covers its records). A leave-one-source-out fold refits the kept ones on the other
 * sources (see `fitConstants`).
 */
import { getEncoding, type Tiktoken } from 'js-tiktoken';
import type { PlanCall, PlannedCall } from '../src/core/adapter.js';
import type { FittedConstant } from '../src/core/fitted-constants.js';
import { RequestLifecycle, type RequestOwner } from '../src/core/lifecycle.js';
import { ReportedUsageCheck } from '../src/core/usage-sanity.js';
import { EstimateCalibration } from '../src/core/calibration.js';
import { estimateHidden } from '../src/core/hidden-reasoning.js';
import type { TokenCounter } from '../src/core/tokenizer.js';
import { ANTHROPIC_CONSTANTS } from '../src/providers/anthropic/constants.js';
import { planMessage } from '../src/providers/anthropic/messages.js';
import { planChatCompletion } from '../src/providers/openai/chat.js';
import { OPENAI_CONSTANTS } from '../src/providers/openai/constants.js';
import { createOpenAIState } from '../src/providers/openai/targets.js';
import { responsesPlans } from '../src/providers/openai/responses.js';
import { REPLAYED_APIS, trueUsage, type AccuracyRecording } from './accuracy-records.js';

export const CONSTANT_TABLES: Readonly<Record<'openai' | 'anthropic', Readonly<Record<string, FittedConstant>>>> = {
  openai: OPENAI_CONSTANTS,
  anthropic: ANTHROPIC_CONSTANTS,
};

/** One estimate of one record, linear in the constants around the shipped values. */
export interface FitRow {
  source: string;
  /** The record's index in the file. */
  index: number;
  provider: 'openai' | 'anthropic';
  api: string;
  target: 'input' | 'output';
  truth: number;
  /** The estimate with the shipped values. */
  base: number;
  /** Per constant name: estimate change per unit of the constant. */
  slopes: Record<string, number>;
}

/** A response of a model that may reason: what it reported. */
export interface ReasoningRow {
  source: string;
  index: number;
  /** The default the estimator would use (0 for effort `minimal` or a default of `none`). */
  defaultTokens: number;
  reported: number;
}

export interface FitData {
  rows: FitRow[];
  reasoning: ReasoningRow[];
}

export interface ConstantFit {
  value: number;
  /** Records whose estimate the constant moves, and their sources. */
  records: number;
  sources: string[];
  status: 'fitted' | 'fallback';
  /** Set for `fallback`: what it fell back to. */
  fallback?: string;
}

export interface FitResult {
  values: Record<string, number>;
  constants: Record<string, ConstantFit>;
}

const sourceOf = (r: AccuracyRecording): string => (typeof r.source_repo === 'string' ? r.source_repo : '(unknown)');

const PLANS: Readonly<Record<string, PlanCall>> = {
  'chat.completions': planChatCompletion,
  responses: responsesPlans(createOpenAIState()).create,
  messages: planMessage,
};

/** A resource whose client names the provider's own endpoint (as the recordings were made). */
const RESOURCES = {
  openai: { _client: { baseURL: 'https://api.openai.com/v1' } },
  anthropic: { _client: { baseURL: 'https://api.anthropic.com' } },
} as const;

/** Nothing learned: the fitted defaults, as a fresh process starts. */
const NO_CALIBRATION = new EstimateCalibration();

/** A span that is never used (the offline reader never finishes a record). */
const NO_SPAN = {} as ConstructorParameters<typeof RequestLifecycle>[1];
/** Nothing receives these requests: they are read, never ended. */
const NO_OWNER: RequestOwner = {
  usageCheck: new ReportedUsageCheck(() => undefined),
  ended: () => undefined,
  draining: () => undefined,
};

/** js-tiktoken's counts (the instrumentation's own counter gives the same: test/tokenizer*.test.ts), remembered per text. */
class MemoCounter {
  private readonly memo = new Map<string, number>();
  constructor(private readonly encoder: Tiktoken) {}
  count = (text: string): number => {
    let n = this.memo.get(text);
    if (n === undefined) this.memo.set(text, (n = this.encoder.encode(text, [], []).length));
    return n;
  };
}

const counters = new Map<string, MemoCounter>();
function counterFor(encoding: 'o200k_base' | 'cl100k_base'): TokenCounter {
  let memo = counters.get(encoding);
  if (!memo) counters.set(encoding, (memo = new MemoCounter(getEncoding(encoding))));
  return { encoding, count: memo.count };
}

interface Evaluation {
  input: number | undefined;
  visible: number | undefined;
  reasoning: ReturnType<NonNullable<PlannedCall['estimator']['hiddenReasoning']>>;
}

/** The instrumentation's estimate of one record with the given constants (usage ignored: it is the truth). */
function evaluate(r: AccuracyRecording, overrides: Readonly<Record<string, number>>): Evaluation | undefined {
  const plan = PLANS[r.api];
  if (!plan) return undefined;
  const body = { ...r.request, stream: r.stream };
  const call = plan(body, RESOURCES[r.provider], { injectStreamUsage: false, estimatorConstants: overrides }, [body]);
  if (!call) return undefined;
  const record = new RequestLifecycle(call, NO_SPAN, NO_OWNER, undefined, undefined);
  // The readers leave what they read unchanged (stream usage is not injected here).
  if (r.stream) for (const event of r.events ?? []) call.reader.readChunk(event, record);
  else call.reader.readResponse(r.response, record);
  const { estimator } = call;
  const counter = counterFor(estimator.encoding as 'o200k_base' | 'cl100k_base');
  const bound = estimator.inputBound?.();
  const input = bound === undefined ? estimator.estimateInput(counter) : undefined;
  const text = record.outputText();
  const reasoning = estimator.hiddenReasoning?.() ?? { kind: 'none' };
  let visible: number | undefined;
  if (text.length > 0) {
    const textTokens = counter.count(text) * estimator.outputFactor;
    // What a streamed summary left out is billed as output beside it (Claude thinking); a
    // typical hidden count (OpenAI reasoning) is fitted apart, from the reported reasoning.
    const hidden = reasoning.kind === 'summarized' ? estimateHidden(reasoning, NO_CALIBRATION, undefined, textTokens, text.length).hidden : 0;
    visible = textTokens + (estimator.outputOverhead?.() ?? 0) + hidden;
  }
  return { input: input !== undefined && Number.isFinite(input) ? input : undefined, visible, reasoning };
}

/** Reads every record once and linearises its estimates in the constants. */
export function buildFitData(recordings: readonly AccuracyRecording[]): FitData {
  const rows: FitRow[] = [];
  const reasoning: ReasoningRow[] = [];
  recordings.forEach((r, index) => {
    if (!REPLAYED_APIS.has(r.api)) return;
    const table = CONSTANT_TABLES[r.provider];
    const shipped: Record<string, number> = {};
    for (const [name, c] of Object.entries(table)) shipped[name] = c.value;
    const at = evaluate(r, shipped);
    if (!at) return;
    const truth = trueUsage(r);
    const source = sourceOf(r);
    const reportedReasoning = r.provider === 'openai' ? (r.usage_summary.reasoning ?? 0) : 0;
    if (r.provider === 'openai' && at.reasoning.kind === 'typical')
      reasoning.push({ source, index, defaultTokens: at.reasoning.defaultTokens, reported: reportedReasoning });
    const targets: ['input' | 'output', number | undefined, number | undefined][] = [
      ['input', at.input, truth.input],
      // The visible output: reasoning is reported apart (OpenAI); Anthropic's thinking is streamed.
      ['output', at.visible, (truth.output ?? 0) - reportedReasoning],
    ];
    for (const [target, base, truthValue] of targets) {
      if (base === undefined || truthValue === undefined || truthValue <= 0) continue;
      // Web-search answers carry citations the API inserts, which are not model tokens.
      if (target === 'output' && (r.output_types ?? []).some((t) => /annotation|citation|web_search|server_tool/.test(t))) continue;
      const slopes: Record<string, number> = {};
      for (const [name, c] of Object.entries(table)) {
        if (c.kind === 'typical') continue;
        const step = c.kind === 'factor' ? 0.1 : 1;
        const moved = evaluate(r, { ...shipped, [name]: shipped[name]! + step });
        const value = target === 'input' ? moved?.input : moved?.visible;
        if (value === undefined) continue;
        const slope = (value - base) / step;
        if (Math.abs(slope) > 1e-9) slopes[name] = slope;
      }
      rows.push({ source, index, provider: r.provider, api: r.api, target, truth: truthValue, base, slopes });
    }
  });
  return { rows, reasoning };
}

const MIN_SOURCES = 2;
const MIN_RECORDS = 3;
const ROUNDS = 12;

/**
 * Fits every constant on the rows of `sources` (all when undefined). Without `kept`, a
 * constant needs two sources (and three records) to be fitted: the rule that decides which
 * constants ship. With `kept` (the constants the fit on all sources kept), the same
 * structure is refitted on a subset, each kept constant from whatever sources of the
 * subset have it (one is enough), the dropped ones staying dropped: leave-one-source-out
 * then measures whether values fitted elsewhere carry over to the source left out.
 */
export function fitConstants(data: FitData, sources?: ReadonlySet<string>, kept?: ReadonlySet<string>): FitResult {
  const minSources = kept ? 1 : MIN_SOURCES;
  const minRecords = kept ? 1 : MIN_RECORDS;
  const rows = sources ? data.rows.filter((row) => sources.has(row.source)) : data.rows;
  const values: Record<string, number> = {};
  const constants: Record<string, ConstantFit> = {};
  for (const [provider, table] of Object.entries(CONSTANT_TABLES) as ['openai' | 'anthropic', Readonly<Record<string, FittedConstant>>][]) {
    const providerRows = rows.filter((row) => row.provider === provider);
    for (const [name, c] of Object.entries(table)) values[name] = c.value;
    const parentOf = (name: string): string | undefined => {
      const fallback = table[name]?.fallback;
      return fallback !== undefined && typeof fallback !== 'number' ? fallback.sameAs : undefined;
    };
    const childrenOf = (name: string): string[] => Object.keys(table).filter((child) => parentOf(child) === name);
    // A factor with children is the pooled factor of all of them: it is fitted on their
    // records together, and each child refines it where its own records allow.
    const pooled = new Set(
      Object.entries(table)
        .filter(([name, c]) => c.kind === 'factor' && childrenOf(name).length > 0)
        .map(([name]) => name),
    );
    for (const [name, c] of Object.entries(table)) {
      if (c.kind === 'typical') continue;
      const family = pooled.has(name) ? [name, ...childrenOf(name)] : [name];
      const touching = providerRows.filter((row) => family.some((member) => row.slopes[member] !== undefined));
      const seen = [...new Set(touching.map((row) => row.source))].sort();
      const supported = (kept === undefined || kept.has(name)) && seen.length >= minSources && touching.length >= minRecords;
      constants[name] = { value: c.value, records: touching.length, sources: seen, status: supported ? 'fitted' : 'fallback' };
      if (!supported) {
        if (typeof c.fallback === 'number') values[name] = c.fallback;
        constants[name]!.fallback = typeof c.fallback === 'number' ? String(c.fallback) : c.fallback.sameAs;
      }
    }
    /** The constant an unsupported one follows (through chains of fallbacks); undefined for a fixed value. */
    const rootOf = (name: string): string | undefined => {
      let current = name;
      for (let depth = 0; depth < 8; depth++) {
        if (constants[current]?.status === 'fitted') return current;
        const parent = parentOf(current);
        if (parent === undefined) return undefined;
        current = parent;
      }
      return undefined;
    };
    /** Rows with the slopes of constants that follow another merged into it (and the base moved to match). */
    const merged = (owner: (name: string) => string | undefined, target?: 'input' | 'output'): FitRow[] =>
      providerRows
        .filter((row) => target === undefined || row.target === target)
        .map((row) => {
          const slopes: Record<string, number> = {};
          let base = row.base;
          for (const [name, slope] of Object.entries(row.slopes)) {
            const key = owner(name) ?? name;
            slopes[key] = (slopes[key] ?? 0) + slope;
            // The linearisation is around the shipped values: a tied constant starts from its root's.
            if (key !== name) base += slope * ((table[key]?.value ?? 0) - (table[name]?.value ?? 0));
          }
          return { ...row, base, slopes };
        });
    const predict = (row: FitRow): number => {
      let value = row.base;
      for (const [name, slope] of Object.entries(row.slopes)) value += slope * ((values[name] ?? 0) - (table[name]?.value ?? 0));
      return value;
    };
    // 1. Pooled factors, on every record of their family (children tied to them).
    for (const parent of pooled) {
      if (constants[parent]?.status !== 'fitted') continue;
      const family = new Set([parent, ...childrenOf(parent)]);
      const familyRows = merged((name) => (family.has(name) ? parent : undefined), 'output').filter((row) => row.slopes[parent] !== undefined);
      values[parent] = fitFactor(parent, familyRows, values, predict);
      for (const child of family) if (child !== parent) values[child] = values[parent]!;
    }
    // 2. Everything else, output first (its factors also scale the input), by coordinate descent.
    const owner = (name: string): string | undefined => {
      const root = rootOf(name);
      return root !== undefined && root !== name ? root : undefined;
    };
    for (const target of ['output', 'input'] as const) {
      const targetRows = merged(owner, target);
      const free = Object.entries(table)
        .filter(([name, c]) => constants[name]?.status === 'fitted' && !pooled.has(name) && (c.kind === 'factor' ? target === 'output' : c.target === target))
        .map(([name]) => name);
      for (let round = 0; round < ROUNDS; round++) {
        let moved = false;
        for (const name of free) {
          const touching = targetRows.filter((row) => row.slopes[name] !== undefined);
          if (touching.length === 0) continue;
          const next = table[name]!.kind === 'factor' ? fitFactor(name, touching, values, predict) : fitOffset(name, touching, values, predict);
          if (Math.abs(next - (values[name] ?? 0)) > 1e-9) moved = true;
          values[name] = next;
        }
        if (!moved) break;
      }
    }
    for (const name of Object.keys(table)) {
      const root = owner(name);
      if (root !== undefined) values[name] = values[root]!;
    }
    for (const [name, c] of Object.entries(table)) {
      values[name] = c.integer ? Math.round(values[name]!) : Math.round(values[name]! * 100) / 100;
      if (constants[name]) constants[name]!.value = values[name]!;
    }
  }
  // Hidden reasoning: the median of what responses that may have reasoned reported.
  const reasoning = (sources ? data.reasoning.filter((row) => sources.has(row.source)) : data.reasoning).filter((row) => row.defaultTokens > 0);
  const typical = 'openai.reasoning.typical';
  const seen = [...new Set(reasoning.map((row) => row.source))].sort();
  const supported = (kept === undefined || kept.has(typical)) && seen.length >= minSources && reasoning.length >= minRecords;
  const fallback = OPENAI_CONSTANTS[typical].fallback as number;
  values[typical] = supported ? median(reasoning.map((row) => row.reported)) : fallback;
  constants[typical] = {
    value: values[typical]!,
    records: reasoning.length,
    sources: seen,
    status: supported ? 'fitted' : 'fallback',
    ...(supported ? {} : { fallback: String(fallback) }),
  };
  return { values, constants };
}

type Predict = (row: FitRow) => number;

/** The weighted median of the residual per unit, weights |slope| / truth. */
function fitOffset(name: string, rows: readonly FitRow[], values: Record<string, number>, predict: Predict): number {
  const current = values[name] ?? 0;
  const points = rows.map((row) => {
    const slope = row.slopes[name]!;
    const residual = row.truth - predict(row);
    return { value: current + residual / slope, weight: Math.abs(slope) / row.truth };
  });
  return weightedMedian(points);
}

/**
 * The factor on a 0.01 grid with the least median relative error. (Weighing in the p90 or
 * the bias made the factors fitted without a source worse on that source: long answers,
 * which dominate a bias, differ most between models.)
 */
function fitFactor(name: string, rows: readonly FitRow[], values: Record<string, number>, predict: Predict): number {
  const current = values[name] ?? 1;
  let best = current;
  let bestScore = Number.POSITIVE_INFINITY;
  for (let step = 80; step <= 160; step++) {
    const candidate = step / 100;
    const errors: number[] = [];
    for (const row of rows) {
      const value = predict(row) + row.slopes[name]! * (candidate - current);
      errors.push(Math.abs(value - row.truth) / row.truth);
    }
    errors.sort((a, b) => a - b);
    const score = quantile(errors, 0.5);
    if (score < bestScore - 1e-12) {
      bestScore = score;
      best = candidate;
    }
  }
  return best;
}

function weightedMedian(points: readonly { value: number; weight: number }[]): number {
  const sorted = [...points].filter((p) => Number.isFinite(p.value) && p.weight > 0).sort((a, b) => a.value - b.value);
  const total = sorted.reduce((sum, p) => sum + p.weight, 0);
  let running = 0;
  for (const p of sorted) {
    running += p.weight;
    if (running >= total / 2) return p.value;
  }
  return sorted.at(-1)?.value ?? 0;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

/** The constants a fit kept (fitted rather than fallen back). */
export function keptConstants(result: FitResult): Set<string> {
  return new Set(
    Object.entries(result.constants)
      .filter(([, c]) => c.status === 'fitted')
      .map(([name]) => name),
  );
}

/** The constants whose fit on `result` differs from the shipped value. */
export function driftFromShipped(result: FitResult): { name: string; shipped: number; fitted: number }[] {
  const drift: { name: string; shipped: number; fitted: number }[] = [];
  for (const table of Object.values(CONSTANT_TABLES)) {
    for (const [name, c] of Object.entries(table)) {
      const fitted = result.values[name];
      if (fitted !== undefined && Math.abs(fitted - c.value) > 1e-9) drift.push({ name, shipped: c.value, fitted });
    }
  }
  return drift;
}
