/**
 * `npm run accuracy -- <recordings.jsonl[.gz]> [--out report.json] [--concurrency n] [--calibrated]`:
 * replays every recording of a file in the format of `recordings-dev.jsonl.gz` through the
 * real SDKs, the emulator and the built package (`dist/`), prints the error tables and
 * writes the JSON report (default `reports/accuracy-<file>.json`, git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { buildFitData, CONSTANT_TABLES, fitConstants, keptConstants, type FitResult } from './accuracy-fit.js';
import { buildReport, type AccuracyReport, type CutStats, type ErrorStats, type TargetCheck } from './accuracy-report.js';
import { readRecordings, type AccuracyRecording } from './accuracy-records.js';
import { runPipeline, type Fold, type PipelineModules } from './accuracy-run.js';

interface Args {
  file: string;
  out?: string;
  concurrency: number;
  calibrated: boolean;
  bySource: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  let file: string | undefined;
  let calibrated = false;
  let bySource = false;
  let out: string | undefined;
  let concurrency = 16;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--out') out = argv[++i];
    else if (arg === '--calibrated') calibrated = true;
    else if (arg === '--by-source') bySource = true;
    else if (arg === '--concurrency') concurrency = Math.max(1, Number(argv[++i]) || 1);
    else file = arg;
  }
  if (!file) {
    console.error('usage: npm run accuracy -- <recordings.jsonl[.gz]> [--by-source] [--out report.json] [--concurrency n] [--calibrated]');
    process.exit(2);
  }
  return { file, out, concurrency, calibrated, bySource };
}

const fmt = (n: number | undefined, digits = 2): string => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '–');

export function formatTable(title: string, rows: readonly ErrorStats[]): string {
  const width = Math.max(30, ...rows.map((r) => r.category.length));
  const head = `${'category'.padEnd(width)}  ${'n'.padStart(5)}  ${'median%'.padStart(8)}  ${'p90%'.padStart(8)}  ${'bias%'.padStart(8)}  no estimate`;
  const lines = [title, head];
  for (const r of rows) {
    lines.push(
      `${r.category.padEnd(width)}  ${String(r.count).padStart(5)}  ${fmt(r.median).padStart(8)}  ${fmt(r.p90).padStart(8)}  ${fmt(r.bias).padStart(8)}  ${r.missing}`,
    );
  }
  return lines.join('\n');
}

function formatCutTable(rows: readonly CutStats[]): string {
  const width = Math.max(30, ...rows.map((r) => r.category.length));
  const lines = [
    '\nstreams cut after half their content chunks: estimated output vs the tokens generated so far (docs/accuracy.md), and the chars/4 baseline',
    `${'category'.padEnd(width)}  ${'n'.padStart(5)}  ${'median%'.padStart(8)}  ${'p90%'.padStart(8)}  ${'bias%'.padStart(8)}  | chars/4: ${'median%'.padStart(8)}  ${'p90%'.padStart(8)}  ${'bias%'.padStart(8)}`,
  ];
  for (const r of rows) {
    lines.push(
      `${r.category.padEnd(width)}  ${String(r.count).padStart(5)}  ${fmt(r.median).padStart(8)}  ${fmt(r.p90).padStart(8)}  ${fmt(r.bias).padStart(8)}  |          ${fmt(r.baselineMedian).padStart(8)}  ${fmt(r.baselineP90).padStart(8)}  ${fmt(r.baselineBias).padStart(8)}`,
    );
  }
  return lines.join('\n');
}

export function formatReport(report: AccuracyReport): string {
  const { calibration } = report;
  const parts = [
    `${report.file}: ${report.records} recordings, ${report.replayed} replayed`,
    `reported mode (usage kept): ${report.reportedExact.exact}/${report.reportedExact.compared} values exact` +
      (report.reportedExact.mismatches.length > 0 ? `\n  ${report.reportedExact.mismatches.join('\n  ')}` : ''),
    `replays without a cost record: reported ${report.replayErrors.reported}, stripped ${report.replayErrors.stripped}` +
      (report.replayErrors.examples.length > 0 ? `\n  ${report.replayErrors.examples.join('\n  ')}` : ''),
    formatTable('\nestimated tokens (usage stripped) vs reported, absolute % error; bias = sum(estimated)/sum(reported) - 1', report.estimates),
    formatTable('\nestimated cost (usage stripped) vs cost from the reported usage', report.cost),
    formatCutTable(report.cut),
    formatTable('\nstreams that ended before their terminal events (Anthropic input from message_start; the rest estimated)', report.unterminated),
    report.calibrated
      ? formatTable('\nafter self-calibration (--calibrated: usage stripped again once the reported pass was seen; in-sample)', report.calibrated)
      : '',
    calibration.count > 0
      ? `\ncalibration factors on the stripped replays: ${calibration.count} records, ${fmt(calibration.min, 3)} .. ${fmt(calibration.max, 3)}`
      : '',
    report.outOfSource
      ? formatTable('\nestimated tokens, out of source (each source with the constants fitted without it)', report.outOfSource.estimates) +
        formatTable('\nestimated cost, out of source', report.outOfSource.cost)
      : '',
    formatBySource('in-sample (constants fitted on every source)', report.targetsBySource),
    report.outOfSource ? formatBySource('out of source (leave one source out)', report.outOfSource.targetsBySource) : '',
    '\ntargets (issue #15, usage stripped): median% / p90% / bias%',
    ...report.targets.map((t, i) => {
      const out = report.outOfSource?.targets[i];
      const outOf = out ? `out of source ${out.met ? 'met ' : 'MISS'} ${figures(out)}   ` : '';
      return `  ${t.target.padEnd(66)}  ${outOf}in-sample ${t.met ? 'met ' : 'MISS'} ${figures(t)}`;
    }),
  ];
  return parts.filter((p) => p !== '').join('\n');
}

const figures = (t: TargetCheck): string =>
  `n ${String(t.count).padStart(4)} ${fmt(t.median).padStart(6)} / ${fmt(t.p90).padStart(6)} / ${fmt(t.bias).padStart(6)}`;

/** Each target's row per source repository: does the fit carry over? */
function formatBySource(title: string, bySource: AccuracyReport['targetsBySource']): string {
  const lines = [`\ntargets by source repository, ${title}: median% / p90% / bias% (n < 10: few records, shown for completeness)`];
  for (const { source, records, targets } of bySource) {
    const shown = targets.filter((t) => t.count > 0);
    if (shown.length === 0) continue;
    lines.push(`  ${source} (${records} records)`);
    for (const t of shown) lines.push(`    ${t.met ? 'met ' : 'MISS'}  ${t.target.padEnd(66)} ${figures(t)}`);
  }
  return lines.length > 1 ? lines.join('\n') : '';
}

/** The fitted constants: shipped value, the fit on every source, support, and the range over the folds. */
function formatConstants(all: FitResult, folds: ReadonlyMap<string, FitResult>): string {
  const lines = [
    '\nfitted constants: shipped, fit on every source, status (fitted needs two sources), records and sources touched, values over the leave-one-out folds',
  ];
  let fitted = 0;
  let dropped = 0;
  for (const table of Object.values(CONSTANT_TABLES)) {
    for (const [name, c] of Object.entries(table)) {
      const fit = all.constants[name];
      if (!fit) continue;
      if (fit.status === 'fitted') fitted++;
      else dropped++;
      const values = [...folds.values()].map((f) => f.values[name] ?? Number.NaN);
      const range = `${Math.min(...values)} .. ${Math.max(...values)}`;
      const drift = Math.abs(fit.value - c.value) > 1e-9 ? '  <- shipped value differs from this fit' : '';
      const status = fit.status === 'fitted' ? 'fitted  ' : `-> ${fit.fallback ?? ''}`;
      lines.push(
        `  ${name.padEnd(44)} ${String(c.value).padStart(6)} ${String(fit.value).padStart(6)}  ${status.padEnd(32)} ${String(fit.records).padStart(5)}  ${fit.sources
          .map((s) => s.split('/').pop())
          .join(',')
          .padEnd(70)} ${range}${drift}`,
      );
    }
  }
  lines.push(`  ${fitted} constants fitted (supported by two or more sources), ${dropped} fall back (one source or none)`);
  return lines.join('\n');
}

/** Fits the constants on every source, and once per source on all the others. */
function leaveOneSourceOut(recordings: readonly AccuracyRecording[]): { folds: Fold[]; all: FitResult; bySource: Map<string, FitResult> } {
  const data = buildFitData(recordings);
  const all = fitConstants(data);
  const kept = keptConstants(all);
  const sources = [...new Set(recordings.map((r) => (typeof r.source_repo === 'string' ? r.source_repo : '(unknown)')))].sort();
  const bySource = new Map<string, FitResult>();
  const folds: Fold[] = [];
  for (const source of sources) {
    const fit = fitConstants(data, new Set(sources.filter((s) => s !== source)), kept);
    bySource.set(source, fit);
    const indexes = recordings.flatMap((r, i) => ((typeof r.source_repo === 'string' ? r.source_repo : '(unknown)') === source ? [i] : []));
    folds.push({ source, indexes, constants: fit.values });
  }
  return { folds, all, bySource };
}

/** The SDKs warn about deprecated models once per request: hundreds of lines that say nothing about accuracy. */
function quietDeprecationWarnings(): void {
  const warn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    const first = args[0];
    if (typeof first === 'string' && /is deprecated and will reach end-of-life/.test(first)) return;
    warn(...args);
  };
}

async function main(): Promise<void> {
  const { file, out, concurrency, calibrated, bySource } = parseArgs(process.argv.slice(2));
  quietDeprecationWarnings();
  const recordings = readRecordings(file);
  const fits = bySource ? leaveOneSourceOut(recordings) : undefined;
  const root = resolve(__dirname, '..');
  // The built package, as users load it.
  const pkg = require(resolve(root, 'dist/cjs/index.js')) as Pick<PipelineModules, 'LLMCostInstrumentation'>;
  const emulator = require(resolve(root, 'dist/cjs/emulator/index.js')) as Pick<PipelineModules, 'startEmulator' | 'scriptHeaders'>;
  const started = Date.now();
  let lastShown = 0;
  const results = await runPipeline(
    recordings,
    { LLMCostInstrumentation: pkg.LLMCostInstrumentation, startEmulator: emulator.startEmulator, scriptHeaders: emulator.scriptHeaders },
    {
      concurrency,
      calibratedPass: calibrated,
      ...(fits ? { folds: fits.folds } : {}),
      onProgress: (done) => {
        if (done - lastShown >= 500) process.stderr.write(`  ${(lastShown = done)} replays\n`);
      },
    },
  );
  const report = buildReport(basename(file), recordings, results);
  console.log(formatReport(report));
  if (fits) console.log(formatConstants(fits.all, fits.bySource));
  const target = out ?? resolve(root, 'reports', `accuracy-${basename(file).replace(/\.jsonl(\.gz)?$/, '')}.json`);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nreport written to ${target} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
