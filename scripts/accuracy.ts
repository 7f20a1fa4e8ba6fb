/**
 * `npm run accuracy -- <recordings.jsonl[.gz]> [--out report.json] [--concurrency n] [--calibrated]`:
 * replays every recording of a file in the format of `recordings-dev.jsonl.gz` through the
 * real SDKs, the emulator and the built package (`dist/`), prints the error tables and
 * writes the JSON report (default `reports/accuracy-<file>.json`, git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { buildReport, type AccuracyReport, type CutStats, type ErrorStats } from './accuracy-report.js';
import { readRecordings } from './accuracy-records.js';
import { runPipeline, type PipelineModules } from './accuracy-run.js';

function parseArgs(argv: readonly string[]): { file: string; out?: string; concurrency: number; calibrated: boolean } {
  let file: string | undefined;
  let calibrated = false;
  let out: string | undefined;
  let concurrency = 16;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--out') out = argv[++i];
    else if (arg === '--calibrated') calibrated = true;
    else if (arg === '--concurrency') concurrency = Math.max(1, Number(argv[++i]) || 1);
    else file = arg;
  }
  if (!file) {
    console.error('usage: npm run accuracy -- <recordings.jsonl[.gz]> [--out report.json] [--concurrency n] [--calibrated]');
    process.exit(2);
  }
  return { file, out, concurrency, calibrated };
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
    formatBySource(report),
    '\ntargets (issue #7, usage stripped)',
    ...report.targets.map(
      (t) => `  ${t.met ? 'met ' : 'MISS'}  ${t.target}  [median ${fmt(t.median)}%, p90 ${fmt(t.p90)}%, bias ${fmt(t.bias)}%]`,
    ),
  ];
  return parts.filter((p) => p !== '').join('\n');
}

/** Each target's row per source repository, where it has at least 10 records: does the fit carry over? */
function formatBySource(report: AccuracyReport): string {
  const lines = ['\ntargets by source repository (rows with at least 10 records; median% / p90% / bias%)'];
  for (const { source, records, targets } of report.targetsBySource) {
    const shown = targets.filter((t) => t.count >= 10);
    if (shown.length === 0) continue;
    lines.push(`  ${source} (${records} records)`);
    for (const t of shown) {
      lines.push(`    ${t.met ? 'met ' : 'MISS'}  ${t.target.padEnd(66)} n ${String(t.count).padStart(4)}  ${fmt(t.median)} / ${fmt(t.p90)} / ${fmt(t.bias)}`);
    }
  }
  return lines.length > 1 ? lines.join('\n') : '';
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
  const { file, out, concurrency, calibrated } = parseArgs(process.argv.slice(2));
  quietDeprecationWarnings();
  const recordings = readRecordings(file);
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
      onProgress: (done) => {
        if (done - lastShown >= 500) process.stderr.write(`  ${(lastShown = done)} replays\n`);
      },
    },
  );
  const report = buildReport(basename(file), recordings, results);
  console.log(formatReport(report));
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
