/**
 * `npm run bench`: the overhead and event-loop stall figures, from the built package.
 *
 * - The servers run in their own processes, so the CPU measured is the client's alone:
 *   the emulator, and in front of it bench/paced-server.ts, which sends a stream one SSE
 *   event per network read (as a real provider's arrive) for the per-chunk figures.
 * - Per chunk: the steady state of one long stream (CPU from chunk `--warm` to the end; by
 *   default chunks 4,000–20,000), each variant in a fresh process. Variants are compared in
 *   pairs that run side by side, streaming at the same moment, so both see the same load on
 *   this shared machine (two copies of one variant run this way agreed within 2%, where
 *   the same variant run twice back to back differed by 14–37%); which of the two starts
 *   first alternates round by round. Each process also times a calibration workload; every ratio is computed per pair
 *   and printed as the median over the rounds with their spread, as measured and calibrated.
 *   Node 24 (through `npx -p node@24`) runs the same set after Node 20.
 * - Per request: the synchronous part of `create()`, small and ~64 KB prompts: each process's
 *   first call (cold) and the median and p90 of the second half of its calls (steady state).
 * - Writes each section it ran into docs/performance.md (between its own markers), with
 *   the date, the machine and the Node versions.
 *
 * Options: --rounds N (default 5), --chunks N (default 20000), --warm N (default 4000),
 * --pace-us N (default 300), --node20-only (skip Node 24), --all-variants (also the
 * budget, and the baselines against each other), --create-requests N (default 5000; a fifth as many with the ~64 KB prompt),
 * --create-processes N (default 1), --stall-rounds N (default 3), --latency-rounds N
 * (default 5), --only overhead,create,memory,stall,latency (default overhead,create,latency:
 * the cut-to-span-end latency, cold and warm, is one of the package's promises).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { buildSync } from 'esbuild';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    chunks: { type: 'string', default: '20000' },
    warm: { type: 'string', default: '4000' },
    'pace-us': { type: 'string', default: '300' },
    'node20-only': { type: 'boolean', default: false },
    'all-variants': { type: 'boolean', default: false },
    'create-requests': { type: 'string', default: '5000' },
    'create-processes': { type: 'string', default: '1' },
    'stall-rounds': { type: 'string', default: '3' },
    'latency-rounds': { type: 'string', default: '5' },
    only: { type: 'string', default: 'overhead,create,latency' },
  },
});
const rounds = Number(values.rounds);
const chunks = Number(values.chunks);
const warm = Number(values.warm);
const paceUs = Number(values['pace-us']);
const createRequests = Number(values['create-requests']);
const createProcesses = Number(values['create-processes']);
const stallRounds = Number(values['stall-rounds']);
const latencyRounds = Number(values['latency-rounds']);
const only = new Set(String(values.only).split(','));

interface OverheadResult {
  chunks: number;
  cpuMicros: number;
  perChunkMicros: number;
  /** The main thread alone (NaN off Linux). */
  mainThreadPerChunkMicros: number;
  calibrationMicros: number;
  switchesPerChunk: number;
}
type CreateResult = Record<`${'small' | 'large'}${'FirstMicros' | 'MedianMicros' | 'P90Micros' | 'CpuMedianMicros' | 'BurstMeanMicros'}`, number>;
interface LatencyResult {
  coldCutAtMs: number;
  coldCutToSpanEndMs: number;
  warmCutAtMs: number;
  warmCutToSpanEndMs: number;
}
type StallResult = Record<string, { maxStallMs: number; eventLoopDelayMaxMs: number; windowMs: number }>;
interface MemoryResult {
  inFlightBytesPerStream: number;
  receivedCharsPerStream: number;
  heapGrowthBytes: number;
  streams: number;
  heapAfterBytes: number;
}

function startServer(args: string[]): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    let buffered = '';
    const onData = (data: Buffer) => {
      buffered += data.toString();
      const match = /listening on (http:\/\/\S+)/.exec(buffered);
      if (match) {
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // keep draining its per-request log
        done({ url: match[1]!, process: child });
      }
    };
    child.stdout?.on('data', onData);
    child.on('exit', (code) => fail(new Error(`emulator exited with ${code}`)));
  });
}

/**
 * The bench child, compiled to plain JavaScript once per run and run with plain `node`, as a
 * service runs compiled code. Under `--import tsx`, Node keeps the source map of every module
 * loaded (tsx turns source maps on): after loading, `ours` held 19.8 MB of heap there against
 * 9.5 MB without (a bare SDK: 7.4 against 4.1), which brought a full collection into the
 * measured window; and tsx's loader thread collected its own heap ~8 s in, in every variant.
 */
function compileChild(): string {
  const out = resolve(root, '.bench', 'child.cjs');
  buildSync({
    entryPoints: [resolve(__dirname, 'child.ts')],
    outfile: out,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
  });
  return out;
}
const childScript = compileChild();

function measure<T>(args: string[], nodeFlags: string[] = [], node = process.execPath): T {
  const result = spawnSync(node, [...nodeFlags, childScript, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0) throw new Error(`bench child ${args.join(' ')} failed:\n${result.stderr}`);
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as T;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (n: number, digits = 2) => n.toFixed(digits);

/** The Node 24 binary `npx -p node@24` provides, or undefined (offline, no npx). */
function node24(): string | undefined {
  const found = spawnSync('npx', ['-y', '-p', 'node@24', 'node', '-p', 'process.execPath'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  const path = found.status === 0 ? found.stdout.trim().split('\n').at(-1) : undefined;
  return path && existsSync(path) ? path : undefined;
}

const nodeVersion = (node: string): string => spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();

/**
 * The per-chunk pairs: each runs its two variants side by side, and its ratio (variant /
 * baseline) is one of the issue's targets or, with `--all-variants`, context for them.
 * Each pair is two processes of ~10 s here (20,000 chunks 300 µs apart, plus start-up).
 */
interface Pair {
  provider: 'openai' | 'anthropic';
  variant: string;
  baseline: string;
  target: (node: string) => number | undefined;
  /** Set in both processes (`BENCH_USER_INCLUDE_USAGE`: the application asks for usage itself). */
  env?: Record<string, string>;
  label?: string;
}
const onNode24 = (node: string) => node.startsWith('v24');
const onNode20 = (node: string) => node.startsWith('v20');
const PAIRS: readonly Pair[] = [
  { provider: 'openai', variant: 'ours', baseline: 'none', target: (node) => (onNode24(node) ? 1.05 : undefined) },
  { provider: 'openai', variant: 'ours', baseline: 'otel-sdk-in-context', target: (node) => (onNode20(node) ? 1.05 : undefined) },
  { provider: 'openai', variant: 'ours', baseline: 'otel-openai', target: () => 0.95 },
  { provider: 'anthropic', variant: 'ours', baseline: 'none', target: (node) => (onNode24(node) ? 1.05 : undefined) },
  { provider: 'anthropic', variant: 'ours', baseline: 'otel-sdk-in-context', target: (node) => (onNode20(node) ? 1.05 : undefined) },
  // Both processes parse the same bytes: the application asks for usage itself.
  {
    provider: 'openai',
    variant: 'ours',
    baseline: 'otel-openai',
    target: () => undefined,
    env: { BENCH_USER_INCLUDE_USAGE: '1' },
    label: 'the app asks for usage',
  },
];
const CONTEXT_PAIRS: readonly Pair[] = [
  { provider: 'openai', variant: 'ours-budget', baseline: 'ours', target: () => undefined },
  { provider: 'openai', variant: 'otel-sdk-in-context', baseline: 'none', target: () => undefined },
  { provider: 'openai', variant: 'otel-openai', baseline: 'none', target: () => undefined },
  { provider: 'anthropic', variant: 'otel-sdk-in-context', baseline: 'none', target: () => undefined },
];
const pairs = values['all-variants'] ? [...PAIRS, ...CONTEXT_PAIRS] : PAIRS;
const pairName = (pair: Pair) => `${pair.provider}: ${pair.variant} / ${pair.baseline}${pair.label ? ` (${pair.label})` : ''}`;

interface PairRun {
  variant: OverheadResult;
  baseline: OverheadResult;
}
interface OverheadRuns {
  node: string;
  /** Pair name → one run per round. */
  runs: Record<string, PairRun[]>;
}

/** Runs a bench child without waiting for it (for the pairs that run side by side). */
function measureAsync<T>(args: string[], node: string, env: Record<string, string> = {}): Promise<T> {
  return new Promise((done, fail) => {
    const child = spawn(node, [childScript, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill(), 300_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) fail(new Error(`bench child ${args.join(' ')} failed (${code}):\n${err}`));
      else done(JSON.parse(out.trim().split('\n').at(-1) ?? '') as T);
    });
  });
}

async function measureOverhead(node: string, baseURL: string): Promise<OverheadRuns> {
  const runs: Record<string, PairRun[]> = {};
  const version = nodeVersion(node);
  for (let round = 1; round <= rounds; round++) {
    // Rotate the pairs' order, and alternate which process of a pair starts first.
    const order = pairs.map((_, i) => pairs[(i + round) % pairs.length]!);
    for (const pair of order) {
      const run = (variant: string) =>
        measureAsync<OverheadResult>(['overhead', variant, pair.provider, baseURL, String(chunks), String(warm), String(paceUs)], node, pair.env);
      const [first, second] = round % 2 ? [pair.variant, pair.baseline] : [pair.baseline, pair.variant];
      const started = run(first);
      const [a, b] = await Promise.all([started, run(second)]);
      (runs[pairName(pair)] ??= []).push(first === pair.variant ? { variant: a, baseline: b } : { variant: b, baseline: a });
    }
    process.stderr.write(`overhead (${version}) round ${round}/${rounds} done\n`);
  }
  return { node: version, runs };
}

function overheadTables({ node, runs }: OverheadRuns): string[] {
  const lines = [
    `#### Node ${node}: CPU per streamed chunk, steady state (${rounds} rounds; chunks ${warm}–${chunks} of one stream, one SSE event per network read, ${paceUs} µs apart; the two variants of a pair side by side)`,
    '',
    '| pair | variant: µs CPU / chunk, per round | baseline: µs CPU / chunk, per round | ratio as measured: median [min–max] | calibrated: median [min–max] | main thread only: median [min–max] | target | met |',
    '|---|---|---|---|---|---|---:|---|',
  ];
  const spread = (xs: number[]) => `${fmt(median(xs), 3)} [${fmt(Math.min(...xs), 3)}–${fmt(Math.max(...xs), 3)}]`;
  const perRound = (rs: OverheadResult[]) => rs.map((r) => fmt(r.perChunkMicros, 1)).join(', ');
  for (const pair of pairs) {
    const rs = runs[pairName(pair)];
    if (!rs) continue;
    const raw = rs.map((r) => r.variant.perChunkMicros / r.baseline.perChunkMicros);
    const calibrated = rs.map((r) => r.variant.perChunkMicros / r.variant.calibrationMicros / (r.baseline.perChunkMicros / r.baseline.calibrationMicros));
    const mainThread = rs.map((r) => r.variant.mainThreadPerChunkMicros / r.baseline.mainThreadPerChunkMicros);
    const goal = pair.target(node);
    const met = goal === undefined ? '' : median(raw) <= goal ? 'yes' : 'no';
    lines.push(
      `| ${pairName(pair)} | ${perRound(rs.map((r) => r.variant))} | ${perRound(rs.map((r) => r.baseline))} | ${spread(raw)} | ${spread(calibrated)} | ${mainThread.every(Number.isFinite) ? spread(mainThread) : 'n/a'} | ${goal === undefined ? '' : `≤ ${goal}`} | ${met} |`,
    );
  }
  lines.push(
    '',
    "Met: the median of the side-by-side ratios of the whole process's CPU (all threads). Main thread only: the thread that runs JavaScript (10 ms ticks), without the GC helper threads and the tokenizer worker. The calibrated ratio divides each process's CPU per chunk by its own time for a fixed workload, run before and after its stream; the pairs already share the machine's moment, so it mostly adds the calibration's own noise, and is shown for comparison.",
  );
  return lines;
}

async function main(): Promise<void> {
  const emulator = await startServer([resolve(root, 'dist/cjs/emulator/cli.js'), '--port', '0']);
  const paced = only.has('overhead') || only.has('create') ? await startServer(['--import', 'tsx', resolve(__dirname, 'paced-server.ts')]) : undefined;
  const sections: Record<string, string[]> = {};
  try {
    if (only.has('overhead')) {
      const results = [await measureOverhead(process.execPath, paced!.url)];
      const other = values['node20-only'] ? undefined : node24();
      if (!values['node20-only'] && !other) process.stderr.write('node24: npx -p node@24 is not available; Node 24 skipped\n');
      if (other) results.push(await measureOverhead(other, paced!.url));
      sections.overhead = results.flatMap((r) => [...overheadTables(r), '']);
    }

    if (only.has('create')) {
      const variants = ['none', 'ours', 'ours-budget'];
      const byVariant: Record<string, CreateResult[]> = {};
      for (let round = 1; round <= createProcesses; round++) {
        for (const variant of round % 2 ? variants : [...variants].reverse()) {
          (byVariant[variant] ??= []).push(measure<CreateResult>(['create', variant, 'openai', paced!.url, String(createRequests)]));
        }
      }
      const lines = [
        `#### Node ${process.version}: synchronous part of \`chat.completions.create()\` (µs until the APIPromise is returned; ${createRequests} calls with a small prompt, then ${Math.ceil(createRequests / 5)} with a ~64 KB one, per process; each call's stream read to its end before the next; ${createProcesses} process(es) per variant)`,
        '',
        "Steady state: median and p90 of the second half of each process's calls; cold: the first call of the process (modules loaded on first use, nothing optimised yet); CPU: the process's CPU time over the same call (all threads); back to back: 50 calls in a row, mean.",
        '',
        '| variant | small prompt: median (per process) | p90 | CPU median | cold: first call (per process) | 50 back to back: mean | ~64 KB prompt: median (per process) | p90 | CPU median | 50 back to back: mean |',
        '|---|---|---:|---:|---|---:|---|---:|---:|---:|',
      ];
      for (const variant of variants) {
        const rs = byVariant[variant]!;
        const each = (key: keyof CreateResult, digits = 1) => rs.map((r) => fmt(r[key], digits)).join(', ');
        const mid = (key: keyof CreateResult) => fmt(median(rs.map((r) => r[key])), 1);
        lines.push(
          `| ${variant} | ${each('smallMedianMicros')} | ${mid('smallP90Micros')} | ${mid('smallCpuMedianMicros')} | ${each('smallFirstMicros', 0)} | ${mid('smallBurstMeanMicros')} | ${each('largeMedianMicros')} | ${mid('largeP90Micros')} | ${mid('largeCpuMedianMicros')} | ${mid('largeBurstMeanMicros')} |`,
        );
      }
      const steady = (variant: string) => median(byVariant[variant]!.map((r) => Math.max(r.smallMedianMicros, r.largeMedianMicros)));
      lines.push(
        '',
        `Targets (issue #19, steady-state median, the larger of the two prompts): ours ${fmt(steady('ours'), 1)} µs (≤ 20: ${steady('ours') <= 20 ? 'met' : 'not met'}), ours-budget ${fmt(steady('ours-budget'), 1)} µs (≤ 60: ${steady('ours-budget') <= 60 ? 'met' : 'not met'}).`,
      );
      sections.create = lines;
      process.stderr.write('create done\n');
    }

    const memory: Record<string, MemoryResult> = {};
    if (only.has('memory')) {
      for (const variant of ['none', 'ours']) memory[variant] = measure<MemoryResult>(['memory', variant, emulator.url, '20000'], ['--expose-gc']);
      process.stderr.write('memory done\n');
    }

    const stalls: Record<string, Record<string, number[]>> = {};
    const loopDelay: Record<string, Record<string, number[]>> = {};
    const stallVariants = ['none', 'ours', 'ours-main-thread'];
    for (let round = 1; round <= (only.has('stall') ? stallRounds : 0); round++) {
      for (const variant of stallVariants) {
        const r = measure<StallResult>(['stall', variant, emulator.url]);
        for (const [name, value] of Object.entries(r)) {
          ((stalls[name] ??= {})[variant] ??= []).push(value.maxStallMs);
          ((loopDelay[name] ??= {})[variant] ??= []).push(value.eventLoopDelayMaxMs);
        }
      }
      process.stderr.write(`stall round ${round}/${stallRounds} done\n`);
    }

    // Cut-to-span-end latency: each run a fresh process; the first cut as early as the
    // stream allows after the instrumentation is enabled, or held until 500 ms after.
    const latencies: Record<string, number[]> = {};
    for (let round = 1; round <= (only.has('latency') ? latencyRounds : 0); round++) {
      for (const notBefore of ['0', '500']) {
        const r = measure<LatencyResult>(['latency', 'ours', emulator.url, notBefore]);
        (latencies[`cold-${notBefore}`] ??= []).push(r.coldCutToSpanEndMs);
        (latencies[`cold-at-${notBefore}`] ??= []).push(r.coldCutAtMs);
        (latencies[`warm-${notBefore}`] ??= []).push(r.warmCutToSpanEndMs);
      }
      const w = measure<{ firstCountAfterEnableMs: number; warmCountMs: number }>(['warmup', 'ours']);
      (latencies['count-at-enable'] ??= []).push(w.firstCountAfterEnableMs);
      (latencies['count-warm'] ??= []).push(w.warmCountMs);
      process.stderr.write(`latency round ${round}/${latencyRounds} done\n`);
    }

    let lines: string[] = [];
    if (only.has('stall')) {
      lines = sections.stall = [];
      lines.push(`### Longest event-loop stall after a cancel, until the span is written (ms, median of ${stallRounds} runs; max in brackets)`, '');
      lines.push(`| case | ${stallVariants.join(' | ')} |`);
      lines.push(`|---|${stallVariants.map(() => '---:').join('|')}|`);
      for (const [name, byVariant] of Object.entries(stalls)) {
        const cells = stallVariants.map((v) => {
          const runs = byVariant[v] ?? [];
          return `${fmt(median(runs), 1)} [${fmt(Math.max(...runs), 1)}]`;
        });
        lines.push(`| ${name} | ${cells.join(' | ')} |`);
      }
      lines.push(
        '',
        `monitorEventLoopDelay max for the same windows (ms, median): ${Object.entries(loopDelay)
          .map(([name, byVariant]) => `${name}: ${stallVariants.map((v) => `${v} ${fmt(median(byVariant[v] ?? []), 1)}`).join(', ')}`)
          .join('; ')}. It under-reports single long blocks (see below).`,
      );
    }
    const kb = (bytes: number) => fmt(bytes / 1024, 1);
    if (only.has('memory')) {
      lines = sections.memory = [];
      lines.push('### Memory (OpenAI chat streams)', '');
      lines.push(
        '| variant | heap per in-flight stream (KB) | received text per stream (KB, UTF-16) | heap growth over 20,000 completed/broken/cancelled streams, after GC (KB) | heap after (MB) |',
      );
      lines.push('|---|---:|---:|---:|---:|');
      for (const [variant, m] of Object.entries(memory)) {
        lines.push(
          `| ${variant} | ${kb(m.inFlightBytesPerStream)} | ${kb(m.receivedCharsPerStream * 2)} | ${kb(m.heapGrowthBytes)} | ${fmt(m.heapAfterBytes / 2 ** 20, 1)} |`,
        );
      }
      const added = memory.ours!.inFlightBytesPerStream - memory.none!.inFlightBytesPerStream;
      // The text is ASCII: V8 keeps it one byte per character.
      const text = memory.ours!.receivedCharsPerStream;
      lines.push(
        '',
        `Heap per in-flight stream: 200 streams held after 100 chunks each, after 20 held and released the same way (the code those paths compile on first use is not counted per stream). What we add per in-flight stream: ${kb(added)} KB (span, record, received text, listeners, the body copy that adds include_usage); beyond the received text we keep (${kb(text)} KB, one byte per character): ${kb(added - text)} KB (issue #19: ≤ 8 KB).`,
      );
    }
    if (only.has('latency')) {
      lines = sections.latency = [];
      lines.push(`### From a cut to the span's end (ms, median of ${latencyRounds} fresh processes; max in brackets)`, '');
      lines.push('| first cut | cut at (ms after enable) | cold: first cut | warm: next cut |');
      lines.push('|---|---:|---:|---:|');
      const cell = (runs: number[] = []) => `${fmt(median(runs), 0)} [${fmt(Math.max(...runs), 0)}]`;
      for (const notBefore of ['0', '500']) {
        const label = notBefore === '0' ? 'as early as the stream allows' : 'held until 500 ms after enable';
        lines.push(
          `| ${label} | ${fmt(median(latencies[`cold-at-${notBefore}`] ?? []), 0)} | ${cell(latencies[`cold-${notBefore}`])} | ${cell(latencies[`warm-${notBefore}`])} |`,
        );
      }
      lines.push(
        `| (a count alone) asked for at enable time: the worst cold case | 0 | ${cell(latencies['count-at-enable'])} | ${cell(latencies['count-warm'])} |`,
      );
    }
    const cpu = cpus();
    const machine = `${cpu[0]?.model ?? 'unknown CPU'} x${cpu.length}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, ${process.platform}/${process.arch}`;
    for (const [name, table] of Object.entries(sections)) {
      const text = table.join('\n').trim();
      process.stdout.write(`\n${text}\n`);
      writeSection(
        name,
        `Machine: ${machine}. Date: ${new Date().toISOString().slice(0, 10)}. Run: ${process.argv.slice(2).join(' ') || 'defaults'}.\n\n${text}`,
      );
    }
  } finally {
    emulator.process.kill();
    paced?.process.kill();
  }
}

const sectionTitles: Record<string, string> = {
  overhead: '## Per chunk',
  create: '## Per request',
  memory: '## Memory',
  stall: '## Event-loop stalls',
  latency: '## From a cut to the span',
};

/**
 * Replaces one section's results between its markers in docs/performance.md, keeping the
 * other sections and the hand-written text; a section not there yet goes after the last one.
 */
function writeSection(name: string, body: string): void {
  const path = resolve(root, 'docs', 'performance.md');
  const begin = `<!-- bench:${name} (written by npm run bench) -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${begin}\n${sectionTitles[name] ?? `## ${name}`}\n\n${body}\n${end}`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : `# Performance\n\n${METHOD}`;
  const start = current.indexOf(begin);
  const stop = current.indexOf(end);
  let next: string;
  if (start >= 0 && stop > start) next = current.slice(0, start) + block + current.slice(stop + end.length);
  else {
    // After the last section's end marker: the sections stay together, before the notes.
    const lastEnd = current.lastIndexOf('<!-- /bench:');
    const after = lastEnd >= 0 ? current.indexOf('\n', lastEnd) : -1;
    next = after >= 0 ? `${current.slice(0, after + 1)}\n${block}\n${current.slice(after + 1)}` : `${current}\n${block}\n`;
  }
  writeFileSync(path, next);
}

const METHOD = `## How to read these figures

- **CPU per chunk** is the client process's CPU time (\`process.cpuUsage\`, user + system,
  all threads) while consuming whole streams through the real SDK from the emulator (in a
  separate process, so its CPU is not counted), divided by the chunks received. It
  includes the SDK's own SSE parsing, which dominates.
  - \`none\`: no OpenTelemetry at all. \`otel-sdk\`: NodeSDK started with no
    instrumentation and no code ever run inside a context, so its AsyncLocalStorage context
    manager never switches on its promise tracking. \`otel-sdk-in-context\`: the same, with
    the streams consumed inside \`context.with\`, as every request of a service whose HTTP
    server is instrumented is: Node 20's AsyncLocalStorage then pays a promise hook on
    every promise of the process. That is the realistic baseline for an instrumentation,
    which must run the SDK call inside its span's context (so HTTP spans and retries nest
    under it): the first \`context.with\` switches the tracking on. \`ours\`: otel-llm-cost. \`ours-budget\`: the
    same with every stream inside \`withBudget\` (the per-chunk budget check, never
    tripping). \`otel-openai\`:
    @opentelemetry/instrumentation-openai, for comparison (OpenAI only).
  - Each run is a fresh process; variants are interleaved and rotated round by round.
- **Event-loop stall** is \`perf_hooks.monitorEventLoopDelay\` (1 ms resolution, which is
  subtracted) between aborting a stream and the span being written (for \`none\`, 50 ms
  after the abort). The prompt is sent before the window opens, so the SDK's own
  \`JSON.stringify\` of it is not counted. \`ours\` counts tokens in a worker thread;
  \`ours-main-thread\` forces the fallback path (used only when a worker cannot start) to
  show what the worker avoids. "cold" is the first estimate in the process (the encoder
  is not built yet).
`;

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
