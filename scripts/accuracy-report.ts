/**
 * Turns the pipeline's replays into error statistics: per provider, API, token type and
 * slice (count, median and p90 absolute percentage error, signed bias), the same for cost,
 * the exactness of reported mode, the cut-short streams against the chars/4 baseline, and
 * the targets checked against the rows they name.
 */
import { getEncoding, type Tiktoken } from 'js-tiktoken';
import type { CostRecord } from '../src/core/model.js';
import {
  contentPieces,
  hiddenUsage,
  inputSlice,
  isReasoningModel,
  outputSlice,
  responsesInputVisible,
  TOKEN_TYPES,
  trueUsage,
  type AccuracyRecording,
} from './accuracy-records.js';
import type { PipelineResults, ReplayResult } from './accuracy-run.js';

export interface ErrorStats {
  category: string;
  count: number;
  /** Median absolute percentage error. */
  median: number;
  p90: number;
  /** Signed aggregate bias: sum(estimated) / sum(true) − 1, in percent. */
  bias: number;
  /** Records whose true value is positive but that got no estimate at all. */
  missing: number;
}

export interface CutStats extends ErrorStats {
  baselineMedian: number;
  baselineP90: number;
  baselineBias: number;
}

export interface TargetCheck {
  target: string;
  row: string;
  /** Records in the row. */
  count: number;
  median?: number;
  p90?: number;
  bias?: number;
  met: boolean;
}

export interface AccuracyReport extends EstimatePass {
  file: string;
  records: number;
  replayed: number;
  replayErrors: { reported: number; stripped: number; examples: string[] };
  reportedExact: { compared: number; exact: number; mismatches: string[] };
  cut: CutStats[];
  /** Streams that ended before their terminal events: tokens and cost vs the reported ones. */
  unterminated: ErrorStats[];
  /** With `--calibrated`: output, reasoning and cost after the reported pass taught the calibration (in-sample). */
  calibrated?: ErrorStats[];
  /** Calibration factors written on the stripped replays' records (when the package writes them). */
  calibration: { count: number; min: number; max: number };
  /**
   * With `--by-source`: the same, each source's records estimated with the constants fitted
   * on all other sources (leave one source out).
   */
  outOfSource?: EstimatePass;
  /** One row per replayed record (usage stripped vs reported), for looking into a category. */
  details: RecordDetail[];
}

/** The figures of one estimating pass. */
export interface EstimatePass {
  estimates: ErrorStats[];
  cost: ErrorStats[];
  targets: TargetCheck[];
  /**
   * The same targets per source repository (`source_repo`; records without one are
   * `(unknown)`): whether the fitted constants hold beyond the repositories that dominate a file.
   */
  targetsBySource: { source: string; records: number; targets: TargetCheck[] }[];
}

export interface RecordDetail {
  id: string;
  source: string;
  provider: string;
  api: string;
  model: string | undefined;
  stream: boolean;
  input: string;
  output: string;
  /** [estimated, reported] per token type; cost in USD (estimated `null` when unpriced). */
  tokens: Partial<Record<(typeof TOKEN_TYPES)[number], [number | null, number]>>;
  /** With `--by-source`: the same, estimated with the constants fitted without this record's source. */
  outOfSource?: Partial<Record<(typeof TOKEN_TYPES)[number], [number | null, number]>>;
  cost?: [number | null, number];
  calibration?: number;
}

interface Sample {
  estimate: number | undefined;
  truth: number;
}

const percentile = (sorted: readonly number[], q: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
};

export function errorStats(category: string, samples: readonly Sample[]): ErrorStats {
  const errors: number[] = [];
  let estimateSum = 0;
  let truthSum = 0;
  let missing = 0;
  for (const { estimate, truth } of samples) {
    if (estimate === undefined) {
      if (truth > 0) missing++;
      continue;
    }
    if (truth <= 0) continue;
    errors.push((Math.abs(estimate - truth) / truth) * 100);
    estimateSum += estimate;
    truthSum += truth;
  }
  errors.sort((a, b) => a - b);
  return {
    category,
    count: errors.length,
    median: percentile(errors, 0.5),
    p90: percentile(errors, 0.9),
    bias: truthSum > 0 ? (estimateSum / truthSum - 1) * 100 : Number.NaN,
    missing,
  };
}

/** An estimate the package marked `unknown` (counting failed) is no estimate at all. */
function estimateOf(cost: CostRecord | undefined, type: (typeof TOKEN_TYPES)[number]): number | undefined {
  const value = cost?.usage[type];
  return value && value.source !== 'unknown' ? value.value : undefined;
}

/** Estimate and cost samples of one estimating pass, pooled and per source repository. */
interface PassSamples {
  samples: Map<string, Sample[]>;
  cost: Map<string, Sample[]>;
  bySource: Map<string, { records: number; samples: Map<string, Sample[]>; cost: Map<string, Sample[]> }>;
}

const sourceOf = (recording: AccuracyRecording): string => (typeof recording.source_repo === 'string' ? recording.source_repo : '(unknown)');

/** Compares one estimating pass (usage stripped) with the provider's figures, by category. */
function collectPass(
  recordings: readonly AccuracyRecording[],
  reported: readonly (ReplayResult | undefined)[],
  stripped: readonly (ReplayResult | undefined)[],
): PassSamples {
  const pass: PassSamples = { samples: new Map(), cost: new Map(), bySource: new Map() };
  const push = (map: Map<string, Sample[]>, key: string, sample: Sample): void => {
    const list = map.get(key) ?? [];
    list.push(sample);
    map.set(key, list);
  };
  recordings.forEach((recording, i) => {
    const estimate = stripped[i]?.cost;
    if (reported[i]?.error === 'API not replayed' || !estimate) return;
    const repo = sourceOf(recording);
    const source = pass.bySource.get(repo) ?? { records: 0, samples: new Map<string, Sample[]>(), cost: new Map<string, Sample[]>() };
    pass.bySource.set(repo, source);
    source.records++;
    const add = (key: string, sample: Sample): void => {
      push(pass.samples, key, sample);
      push(source.samples, key, sample);
    };
    const addCost = (key: string, sample: Sample): void => {
      push(pass.cost, key, sample);
      push(source.cost, key, sample);
    };
    const group = `${recording.provider} ${recording.api}`;
    const truth = trueUsage(recording);
    const citations = outputSlice(recording).endsWith('citations');
    for (const type of TOKEN_TYPES) {
      const expected = truth[type];
      if (expected === undefined || expected <= 0) continue;
      const sample = { estimate: estimateOf(estimate, type), truth: expected };
      add(`${group} ${type}`, sample);
      if (type === 'input') add(`${group} input [${inputSlice(recording)}]`, sample);
      if (type === 'input' && recording.api === 'responses' && responsesInputVisible(recording))
        add(`${group} input [no server-side tools or compaction]`, sample);
      if (type === 'output') add(`${group} output [${outputSlice(recording)}]`, sample);
      // API-inserted citations are not model tokens (the recordings' README).
      if (type === 'output' && recording.provider === 'openai' && (truth.reasoning ?? 0) === 0 && !citations) {
        add(`${group} output [no reasoning tokens]`, sample);
        add('openai output [no reasoning tokens]', sample);
      }
    }
    const reportedCost = reported[i]?.cost?.cost;
    if (reportedCost && reportedCost.source !== 'unpriced') {
      const sample = { estimate: estimate.cost.source === 'unpriced' ? undefined : estimate.cost.totalUsd, truth: reportedCost.totalUsd };
      addCost('all', sample);
      // Web-search turns bill the search results as input, which no request shows.
      if (!citations) addCost('all, without web-search turns', sample);
      if (hiddenUsage(recording) === undefined) addCost('all [usage a client can see]', sample);
      addCost(group, sample);
      if (recording.provider === 'openai') addCost(`${group} [${isReasoningModel(recording) ? 'reasoning model' : 'non-reasoning'}]`, sample);
    }
  });
  return pass;
}

const sortedStats = (map: Map<string, Sample[]>): ErrorStats[] =>
  [...map.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, list]) => errorStats(key, list));

function passReport(pass: PassSamples): EstimatePass {
  const estimates = sortedStats(pass.samples);
  const cost = sortedStats(pass.cost);
  return {
    estimates,
    cost,
    targets: checkTargets(estimates, cost),
    targetsBySource: [...pass.bySource.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, group]) => ({ source: name, records: group.records, targets: checkTargets(sortedStats(group.samples), sortedStats(group.cost)) })),
  };
}

export function buildReport(file: string, recordings: readonly AccuracyRecording[], results: PipelineResults): AccuracyReport {
  const replayErrors = { reported: 0, stripped: 0, examples: [] as string[] };
  const reportedExact = { compared: 0, exact: 0, mismatches: [] as string[] };
  const calibration = { count: 0, min: Number.NaN, max: Number.NaN };
  let replayed = 0;
  const details: RecordDetail[] = [];

  recordings.forEach((recording, i) => {
    const reported = results.reported[i];
    const stripped = results.stripped[i];
    if (reported?.error === 'API not replayed') return;
    replayed++;
    for (const [mode, result] of [
      ['reported', reported],
      ['stripped', stripped],
    ] as const) {
      if (!result?.cost) {
        replayErrors[mode]++;
        if (replayErrors.examples.length < 10) replayErrors.examples.push(`${mode} ${recording.response_id}: ${result?.error ?? 'no cost record'}`);
      }
    }
    const factor = (stripped?.cost?.usage as { calibration?: unknown } | undefined)?.calibration;
    if (typeof factor === 'number') {
      calibration.count++;
      calibration.min = Number.isNaN(calibration.min) ? factor : Math.min(calibration.min, factor);
      calibration.max = Number.isNaN(calibration.max) ? factor : Math.max(calibration.max, factor);
    }
    const truth = trueUsage(recording);
    const outOfSource = results.outOfSource?.[i]?.cost;
    const detail: RecordDetail = {
      id: recording.response_id,
      source: sourceOf(recording),
      provider: recording.provider,
      api: recording.api,
      model: recording.model,
      stream: recording.stream,
      input: inputSlice(recording),
      output: outputSlice(recording),
      tokens: {},
      ...(outOfSource ? { outOfSource: {} } : {}),
      ...(typeof factor === 'number' ? { calibration: factor } : {}),
    };
    details.push(detail);
    for (const type of TOKEN_TYPES) {
      const expected = truth[type];
      if (expected === undefined) continue;
      if (stripped?.cost) detail.tokens[type] = [estimateOf(stripped.cost, type) ?? null, expected];
      if (outOfSource && detail.outOfSource) detail.outOfSource[type] = [estimateOf(outOfSource, type) ?? null, expected];
      if (reported?.cost) {
        const got = reported.cost.usage[type];
        reportedExact.compared++;
        // Cache and reasoning details are left off the record when zero.
        const exact = got === undefined ? expected === 0 : got.source === 'reported' && got.value === expected;
        if (exact) reportedExact.exact++;
        else if (reportedExact.mismatches.length < 20) {
          reportedExact.mismatches.push(`${recording.response_id} ${type}: ${got?.value}/${got?.source} vs ${expected}`);
        }
      }
    }
    const reportedCost = reported?.cost?.cost;
    const strippedCost = stripped?.cost?.cost;
    if (reportedCost && reportedCost.source !== 'unpriced' && strippedCost) {
      detail.cost = [strippedCost.source === 'unpriced' ? null : strippedCost.totalUsd, reportedCost.totalUsd];
    }
  });

  const inSample = passReport(collectPass(recordings, results.reported, results.stripped));
  return {
    file,
    records: recordings.length,
    replayed,
    replayErrors,
    reportedExact,
    ...inSample,
    ...(results.outOfSource ? { outOfSource: passReport(collectPass(recordings, results.reported, results.outOfSource)) } : {}),
    cut: cutStats(recordings, results),
    unterminated: unterminatedStats(recordings, results),
    ...(results.calibrated ? { calibrated: calibratedStats(recordings, results, results.calibrated) } : {}),
    calibration,
    details,
  };
}

/** The targets of issue #15 (usage stripped), each checked against the row it names. */
const TARGETS: readonly { target: string; row: string; cost?: boolean; median?: number; p90?: number; bias?: number }[] = [
  { target: 'OpenAI output, no reasoning tokens: median ≤ 1%, p90 ≤ 3%', row: 'openai output [no reasoning tokens]', median: 1, p90: 3 },
  { target: 'OpenAI chat input, text-only: p90 ≤ 2%', row: 'openai chat.completions input [text-only]', p90: 2 },
  { target: 'OpenAI chat input with tools/images/schemas: p90 ≤ 10%', row: 'openai chat.completions input [with tools/images/schemas]', p90: 10 },
  { target: 'Responses input (no server-side tools or compaction): p90 ≤ 5%', row: 'openai responses input [no server-side tools or compaction]', p90: 5 },
  { target: 'Anthropic output: median ≤ 5%, p90 ≤ 15%', row: 'anthropic messages output', median: 5, p90: 15 },
  { target: 'Cost, usage a client can see: bias within ±3%', row: 'all [usage a client can see]', cost: true, bias: 3 },
];

function checkTargets(estimates: readonly ErrorStats[], cost: readonly ErrorStats[]): TargetCheck[] {
  return TARGETS.map((t) => {
    const row = (t.cost ? cost : estimates).find((r) => r.category === t.row);
    if (!row || row.count === 0) return { target: t.target, row: t.row, count: 0, met: false };
    const met =
      (t.median === undefined || row.median <= t.median + 1e-9) &&
      (t.p90 === undefined || row.p90 <= t.p90 + 1e-9) &&
      (t.bias === undefined || Math.abs(row.bias) <= t.bias);
    return { target: t.target, row: t.row, count: row.count, median: row.median, p90: row.p90, bias: row.bias, met };
  });
}

const encoders = new Map<string, Tiktoken>();
function encoder(name: 'o200k_base' | 'cl100k_base'): Tiktoken {
  let found = encoders.get(name);
  if (!found) encoders.set(name, (found = getEncoding(name)));
  return found;
}

/**
 * Streams cut after k content chunks, per provider and API and per output slice. The truth:
 * - OpenAI: the tokens of the received text in the model's own encoding, plus whatever the
 *   full response reported beyond its streamed text (hidden reasoning, which comes before the
 *   first visible chunk; tool-call framing, sent with each call's start; the per-message
 *   token): those were already generated when the stream broke. For plain text from a
 *   non-reasoning model that extra is 0 or 1.
 * - Anthropic (no public tokenizer): the final reported output scaled by the share of the
 *   streamed characters received.
 */
function cutStats(recordings: readonly AccuracyRecording[], results: PipelineResults): CutStats[] {
  const groups = new Map<string, { est: Sample[]; base: Sample[] }>();
  const add = (key: string, estimate: Sample, baseline: Sample): void => {
    const group = groups.get(key) ?? { est: [], base: [] };
    group.est.push(estimate);
    group.base.push(baseline);
    groups.set(key, group);
  };
  for (const { index, result } of results.cut) {
    const recording = recordings[index]!;
    const output = result.cost?.usage.output;
    if (!output || output.source === 'reported' || result.receivedText === '') continue;
    const full = contentPieces(recording).join('');
    let truth: number;
    if (recording.provider === 'openai') {
      const tokenizer = encoder(/^(gpt-4(?!o|\.)|gpt-3\.5)/.test(recording.model ?? '') ? 'cl100k_base' : 'o200k_base');
      const unstreamed = Math.max(0, recording.usage_summary.output - tokenizer.encode(full, 'all').length);
      truth = tokenizer.encode(result.receivedText, 'all').length + unstreamed;
    } else {
      if (full.length === 0) continue;
      truth = (recording.usage_summary.output * result.receivedText.length) / full.length;
    }
    if (truth <= 0) continue;
    const estimate = { estimate: output.source === 'unknown' ? undefined : output.value, truth };
    const baseline = { estimate: Math.ceil(result.receivedText.length / 4), truth };
    add(`${recording.provider} ${recording.api}`, estimate, baseline);
    add(`${recording.provider} ${recording.api} [${outputSlice(recording)}]`, estimate, baseline);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, { est, base }]) => {
      const e = errorStats(key, est);
      const b = errorStats(key, base);
      return { ...e, baselineMedian: b.median, baselineP90: b.p90, baselineBias: b.bias };
    });
}

/**
 * Streams whose terminal events never came (usage kept in the others): Anthropic input
 * comes from `message_start`, everything else is estimated. Cost is compared with the cost
 * of the reported usage from the reported pass.
 */
function unterminatedStats(recordings: readonly AccuracyRecording[], results: PipelineResults): ErrorStats[] {
  const samples = new Map<string, Sample[]>();
  const add = (key: string, sample: Sample): void => {
    const list = samples.get(key) ?? [];
    list.push(sample);
    samples.set(key, list);
  };
  for (const { index, result } of results.unterminated) {
    const recording = recordings[index]!;
    if (!result.cost) continue;
    const group = `${recording.provider} ${recording.api}`;
    const truth = trueUsage(recording);
    for (const type of ['input', 'output'] as const) {
      const expected = truth[type];
      if (expected !== undefined && expected > 0) add(`${group} ${type}`, { estimate: estimateOf(result.cost, type), truth: expected });
    }
    const reportedCost = results.reported[index]?.cost?.cost;
    if (reportedCost && reportedCost.source !== 'unpriced') {
      const estimate = result.cost.cost.source === 'unpriced' ? undefined : result.cost.cost.totalUsd;
      add(`${group} cost`, { estimate, truth: reportedCost.totalUsd });
    }
  }
  return [...samples.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, list]) => errorStats(key, list));
}

function calibratedStats(recordings: readonly AccuracyRecording[], results: PipelineResults, calibrated: PipelineResults['stripped']): ErrorStats[] {
  const samples = new Map<string, Sample[]>();
  const add = (key: string, sample: Sample): void => {
    const list = samples.get(key) ?? [];
    list.push(sample);
    samples.set(key, list);
  };
  recordings.forEach((recording, i) => {
    const cost = calibrated[i]?.cost;
    if (!cost) return;
    const group = `${recording.provider} ${recording.api}`;
    const truth = trueUsage(recording);
    for (const type of ['output', 'reasoning'] as const) {
      const expected = truth[type];
      if (expected !== undefined && expected > 0) add(`${group} ${type} [${outputSlice(recording)}]`, { estimate: estimateOf(cost, type), truth: expected });
    }
    const reportedCost = results.reported[i]?.cost?.cost;
    if (reportedCost && reportedCost.source !== 'unpriced') {
      const estimate = cost.cost.source === 'unpriced' ? undefined : cost.cost.totalUsd;
      add('cost all', { estimate, truth: reportedCost.totalUsd });
      add(`cost ${group}`, { estimate, truth: reportedCost.totalUsd });
    }
  });
  return [...samples.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, list]) => errorStats(key, list));
}
