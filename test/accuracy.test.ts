/**
 * The accuracy pipeline (`npm run accuracy`) on the recorded fixtures in test/fixtures,
 * through the sources instead of the built package: the real SDKs, the emulator and the
 * instrumentation. With the provider's usage kept every value must be the provider's own;
 * with it stripped the estimates must be marked as such and within sane bounds (the
 * command itself measures how close they are on the full recordings; see docs/accuracy.md).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { LLMCostInstrumentation } from '../src/index.js';
import { scriptHeaders, startEmulator } from '../src/emulator/index.js';
import { buildReport, errorStats, type AccuracyReport } from '../scripts/accuracy-report.js';
import { readRecordings, trueUsage, type AccuracyRecording } from '../scripts/accuracy-records.js';
import { runPipeline, type PipelineModules, type PipelineResults } from '../scripts/accuracy-run.js';
import { buildFitData, CONSTANT_TABLES, fitConstants, keptConstants, type FitRow } from '../scripts/accuracy-fit.js';

let recordings: AccuracyRecording[];
let results: PipelineResults;
let report: AccuracyReport;
/** The records in test/fixtures/recordings.jsonl (its README lists them). */
const FIXTURES = 15;

before(async () => {
  recordings = readRecordings(join(__dirname, 'fixtures', 'recordings.jsonl'));
  const modules: PipelineModules = {
    LLMCostInstrumentation: LLMCostInstrumentation as unknown as PipelineModules['LLMCostInstrumentation'],
    startEmulator,
    scriptHeaders,
  };
  // One pipeline per process (the SDK modules are patched once): the leave-one-source-out
  // folds run in it too, between the estimating passes and the reported one.
  const data = buildFitData(recordings);
  const kept = keptConstants(fitConstants(data));
  const sources = [...new Set(recordings.map((r) => String(r.source_repo)))].sort();
  const folds = sources.map((source) => ({
    source,
    indexes: recordings.flatMap((r, i) => (r.source_repo === source ? [i] : [])),
    constants: fitConstants(data, new Set(sources.filter((s) => s !== source)), kept).values,
  }));
  results = await runPipeline(recordings, modules, { concurrency: 4, folds });
  report = buildReport('recordings.jsonl', recordings, results);
});

describe('accuracy pipeline on the recorded fixtures', () => {
  it('reads every fixture and replays each one in every pass', () => {
    assert.equal(recordings.length, FIXTURES);
    assert.equal(report.replayed, FIXTURES);
    assert.deepEqual(report.replayErrors, { reported: 0, stripped: 0, examples: [] });
    assert.ok(results.cut.length > 0, 'some streams are long enough to cut');
    assert.equal(results.unterminated.length, recordings.filter((r) => r.stream).length);
  });

  it('with the usage kept, every value is the provider’s, exactly', () => {
    assert.ok(report.reportedExact.compared >= FIXTURES * 4);
    assert.deepEqual(report.reportedExact.mismatches, []);
    assert.equal(report.reportedExact.exact, report.reportedExact.compared);
  });

  it('with the usage stripped, input and output are estimates within sane bounds', () => {
    recordings.forEach((recording, i) => {
      const cost = results.stripped[i]?.cost;
      assert.ok(cost, `${recording.response_id}: no cost record`);
      const truth = trueUsage(recording);
      assert.equal(cost.usage.output.source, 'estimated', recording.response_id);
      assert.equal(cost.usage.input.source, 'estimated', recording.response_id);
      const output = cost.usage.output.value;
      // Reasoning models hide most of their output; the estimate then rests on what the
      // process learned, so only its sign is checked here.
      // Tool calls carry framing tokens the received arguments do not show: a wider bound.
      const reasoning = (recording.usage_summary.reasoning ?? 0) > 0;
      const lowest = recording.output_types?.some((t) => /tool|function/.test(t)) ? 0.25 : 0.5;
      if (!reasoning) {
        // A few tokens of slack: a 5-token reply is 2 tokens of text plus framing.
        assert.ok(output >= truth.output! * lowest - 4 && output <= truth.output! * 2 + 4, `${recording.response_id}: output ${output} vs ${truth.output}`);
      } else assert.ok(output > 0);
      const input = cost.usage.input.value;
      assert.ok(input >= truth.input! * 0.15 && input <= truth.input! * 3, `${recording.response_id}: input ${input} vs ${truth.input}`);
      assert.notEqual(cost.cost.source, 'reported');
    });
  });

  it('streams cut short are estimated from the text received, never reported', () => {
    for (const { index, cutAfter, result } of results.cut) {
      const recording = recordings[index]!;
      assert.ok(cutAfter >= 2);
      assert.ok(result.cost, `${recording.response_id}: no cost record`);
      assert.equal(result.cost.usage.output.source, 'estimated');
      assert.ok(result.cost.usage.output.value > 0);
      assert.ok(result.cost.usage.output.value < recording.usage_summary.output * 1.5, recording.response_id);
      assert.notEqual(result.cost.outcome, 'completed');
    }
    for (const row of report.cut) assert.ok(row.count > 0 && Number.isFinite(row.baselineMedian));
  });

  it('an Anthropic stream without its terminal events keeps message_start’s input and cache', () => {
    for (const { index, result } of results.unterminated) {
      const recording = recordings[index]!;
      if (recording.provider !== 'anthropic') continue;
      assert.ok(result.cost);
      assert.equal(result.cost.usage.input.source, 'reported');
      assert.equal(result.cost.usage.input.value, trueUsage(recording).input);
      assert.equal(result.cost.usage.output.source, 'estimated');
    }
  });

  it('the report has a row per provider, API and token type, and checks every target', () => {
    const categories = report.estimates.map((r) => r.category);
    for (const expected of ['openai chat.completions output', 'openai responses input', 'anthropic messages output']) {
      assert.ok(categories.includes(expected), expected);
    }
    assert.ok(report.cost.some((r) => r.category === 'all' && r.count === FIXTURES));
    assert.equal(report.targets.length, 6);
  });

  it('checks the same targets per source repository, the records split among them', () => {
    const sources = report.targetsBySource.map((s) => s.source);
    assert.deepEqual(sources, [...new Set(recordings.map((r) => String(r.source_repo)))].sort());
    assert.equal(
      report.targetsBySource.reduce((sum, s) => sum + s.records, 0),
      FIXTURES,
    );
    for (const source of report.targetsBySource) assert.equal(source.targets.length, report.targets.length);
    for (const target of report.targets) {
      const split = report.targetsBySource.flatMap((s) => s.targets.filter((t) => t.row === target.row));
      assert.equal(
        split.reduce((sum, t) => sum + t.count, 0),
        target.count,
        target.row,
      );
    }
  });

  it('leave one source out: each source replayed with the constants fitted on the others', () => {
    assert.ok(results.outOfSource);
    results.outOfSource.forEach((result, i) => {
      assert.ok(result.cost, `${recordings[i]!.response_id}: no out-of-source estimate`);
      assert.equal(result.cost.usage.output.source, 'estimated');
    });
    assert.ok(report.outOfSource);
    assert.equal(report.outOfSource.targets.length, report.targets.length);
    assert.deepEqual(
      report.outOfSource.targetsBySource.map((s) => s.source),
      report.targetsBySource.map((s) => s.source),
    );
  });
});

describe('refitting the constants', () => {
  it('reads each record as the instrumentation does: the estimate at the shipped values is the stripped replay’s', () => {
    const data = buildFitData(recordings);
    for (const row of data.rows) {
      const recording = recordings[row.index]!;
      const cost = results.stripped[row.index]?.cost;
      assert.ok(cost);
      if (row.target === 'input') assert.equal(Math.round(row.base), cost.usage.input.value, `${recording.response_id} input`);
      else {
        // OpenAI's estimated reasoning is all hidden and fitted apart; Claude's is the streamed
        // summary and what it left out, which the row already holds.
        const hidden = recording.provider === 'openai' && cost.usage.reasoning?.source === 'estimated' ? cost.usage.reasoning.value : 0;
        assert.ok(
          Math.abs(row.base + hidden - cost.usage.output.value) <= 0.5,
          `${recording.response_id} output ${row.base} + ${hidden} vs ${cost.usage.output.value}`,
        );
      }
    }
  });

  it('fits a constant two sources support, drops one only one source supports, and refits the kept ones on a subset', () => {
    const table = CONSTANT_TABLES.openai;
    const call = 'openai.output.tool_call';
    const schema = 'openai.output.text_beside_tools_and_schema';
    const row = (source: string, truth: number, slopes: Record<string, number>): FitRow => ({
      source,
      index: 0,
      provider: 'openai',
      api: 'chat.completions',
      target: 'output',
      truth,
      // The estimate at the shipped values: 20 tokens of text plus what the constants add.
      base: 20 + Object.entries(slopes).reduce((sum, [name, slope]) => sum + slope * table[name]!.value, 0),
      slopes,
    });
    // Tool calls cost 10 in both sources; the schema residual shows in one source only.
    const rows = [...['a', 'a', 'b', 'b', 'b'].map((source) => row(source, 30, { [call]: 1 })), ...[1, 2, 3].map(() => row('a', 26, { [schema]: 1 }))];
    const fit = fitConstants({ rows, reasoning: [] });
    assert.equal(fit.values[call], 10);
    assert.equal(fit.constants[call]!.status, 'fitted');
    assert.deepEqual(fit.constants[call]!.sources, ['a', 'b']);
    assert.equal(fit.constants[schema]!.status, 'fallback');
    assert.equal(fit.values[schema], 0);
    // Without source b, the kept constant is fitted from a alone; the dropped one stays dropped.
    const fold = fitConstants({ rows, reasoning: [] }, new Set(['a']), keptConstants(fit));
    assert.equal(fold.values[call], 10);
    assert.equal(fold.values[schema], 0);
    // Garbage rows (a truth of 0 cannot be weighed) do not break the fit.
    assert.doesNotThrow(() => fitConstants({ rows: [...rows, { ...row('c', 0, { [call]: 1 }) }], reasoning: [] }));
  });
});

describe('error statistics', () => {
  it('median, p90 and bias of absolute percentage errors; no estimate counted apart', () => {
    const stats = errorStats('x', [
      { estimate: 110, truth: 100 },
      { estimate: 90, truth: 100 },
      { estimate: 100, truth: 100 },
      { estimate: undefined, truth: 5 },
      { estimate: 3, truth: 0 },
    ]);
    assert.equal(stats.count, 3);
    assert.equal(stats.median, 10);
    assert.ok(Math.abs(stats.p90 - 10) < 1e-9);
    assert.equal(stats.bias, 0);
    assert.equal(stats.missing, 1);
  });
});
