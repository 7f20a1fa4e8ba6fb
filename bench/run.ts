/**
 * `npm run bench`: the overhead and event-loop stall figures, from the built package.
 *
 * - The emulator runs in its own process, so the CPU measured is the client's alone.
 * - Each measurement runs in a fresh process (bench/child.ts); variants are interleaved
 *   round by round so drift (thermal, other load) spreads evenly; medians are reported.
 * - Writes docs/performance.md with the table and the machine it ran on.
 *
 * Options: --rounds N (default 7), --chunks N (default 20000), --streams N (default 3),
 * --stall-rounds N (default 3), --latency-rounds N (default 5), --only overhead,memory,stall,latency.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(__dirname, '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    chunks: { type: 'string', default: '20000' },
    streams: { type: 'string', default: '3' },
    'stall-rounds': { type: 'string', default: '3' },
    'latency-rounds': { type: 'string', default: '5' },
    only: { type: 'string', default: 'overhead,memory,stall,latency' },
  },
});
const rounds = Number(values.rounds);
const chunks = Number(values.chunks);
const streams = Number(values.streams);
const stallRounds = Number(values['stall-rounds']);
const latencyRounds = Number(values['latency-rounds']);
const only = new Set(String(values.only).split(','));

interface OverheadResult {
  chunks: number;
  cpuMicros: number;
  perChunkMicros: number;
}
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

function startEmulator(): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, [resolve(root, 'dist/cjs/emulator/cli.js'), '--port', '0'], {
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

function measure<T>(args: string[], nodeFlags: string[] = []): T {
  const result = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', resolve(__dirname, 'child.ts'), ...args], {
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
const pct = (ratio: number) => `${ratio >= 1 ? '+' : ''}${fmt((ratio - 1) * 100, 1)}%`;

async function main(): Promise<void> {
  const emulator = await startEmulator();
  try {
    const overheadVariants: Record<string, string[]> = {
      openai: ['none', 'otel-sdk', 'otel-sdk-in-context', 'ours', 'ours-budget', 'otel-openai'],
      anthropic: ['none', 'otel-sdk', 'otel-sdk-in-context', 'ours', 'ours-budget'],
    };
    const perChunk: Record<string, number[]> = {};
    for (let round = 1; round <= (only.has('overhead') ? rounds : 0); round++) {
      for (const [provider, variants] of Object.entries(overheadVariants)) {
        // Rotate the order each round so no variant always runs first.
        const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
        for (const variant of order) {
          const r = measure<OverheadResult>(['overhead', variant, provider, emulator.url, String(chunks), String(streams)]);
          (perChunk[`${provider}/${variant}`] ??= []).push(r.perChunkMicros);
        }
      }
      process.stderr.write(`overhead round ${round}/${rounds} done\n`);
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

    const lines: string[] = [];
    if (only.has('overhead')) {
      lines.push(`### CPU per streamed chunk (median of ${rounds} interleaved runs, ${streams} streams x ${chunks} chunks each)`, '');
      lines.push('| provider | variant | µs CPU / chunk (median) | runs (µs) | vs none | vs otel-sdk | vs otel-sdk-in-context |');
      lines.push('|---|---|---:|---|---:|---:|---:|');
      for (const [provider, variants] of Object.entries(overheadVariants)) {
        const none = median(perChunk[`${provider}/none`]!);
        const sdk = median(perChunk[`${provider}/otel-sdk`]!);
        const inContext = median(perChunk[`${provider}/otel-sdk-in-context`]!);
        for (const variant of variants) {
          const runs = perChunk[`${provider}/${variant}`]!;
          const m = median(runs);
          lines.push(
            `| ${provider} | ${variant} | ${fmt(m)} | ${runs.map((x) => fmt(x, 1)).join(', ')} | ${pct(m / none)} | ${pct(m / sdk)} | ${pct(m / inContext)} |`,
          );
        }
      }
    }
    if (only.has('stall')) {
      lines.push('', `### Longest event-loop stall after a cancel, until the span is written (ms, median of ${stallRounds} runs; max in brackets)`, '');
      lines.push(`| case | ${stallVariants.join(' | ')} |`);
      lines.push(`|---|${stallVariants.map(() => '---:').join('|')}|`);
      for (const [name, byVariant] of Object.entries(stalls)) {
        const cells = stallVariants.map((v) => {
          const runs = byVariant[v] ?? [];
          return `${fmt(median(runs), 1)} [${fmt(Math.max(...runs), 1)}]`;
        });
        lines.push(`| ${name} | ${cells.join(' | ')} |`);
      }
      lines.push('', `monitorEventLoopDelay max for the same windows (ms, median): ${Object.entries(loopDelay)
        .map(([name, byVariant]) => `${name}: ${stallVariants.map((v) => `${v} ${fmt(median(byVariant[v] ?? []), 1)}`).join(', ')}`)
        .join('; ')}. It under-reports single long blocks (see below).`);
    }
    const kb = (bytes: number) => fmt(bytes / 1024, 1);
    if (only.has('memory')) {
      lines.push('', '### Memory (OpenAI chat streams)', '');
      lines.push('| variant | heap per in-flight stream (KB) | received text per stream (KB, UTF-16) | heap growth over 20,000 completed/broken/cancelled streams, after GC (KB) | heap after (MB) |');
      lines.push('|---|---:|---:|---:|---:|');
      for (const [variant, m] of Object.entries(memory)) {
        lines.push(`| ${variant} | ${kb(m.inFlightBytesPerStream)} | ${kb(m.receivedCharsPerStream * 2)} | ${kb(m.heapGrowthBytes)} | ${fmt(m.heapAfterBytes / 2 ** 20, 1)} |`);
      }
      lines.push('', `What we add per in-flight stream: ${kb(memory.ours!.inFlightBytesPerStream - memory.none!.inFlightBytesPerStream)} KB (span, record, received text, listeners, the body copy that adds include_usage).`);
    }
    if (only.has('latency')) {
      lines.push('', `### From a cut to the span's end (ms, median of ${latencyRounds} fresh processes; max in brackets)`, '');
      lines.push('| first cut | cut at (ms after enable) | cold: first cut | warm: next cut |');
      lines.push('|---|---:|---:|---:|');
      const cell = (runs: number[] = []) => `${fmt(median(runs), 0)} [${fmt(Math.max(...runs), 0)}]`;
      for (const notBefore of ['0', '500']) {
        const label = notBefore === '0' ? 'as early as the stream allows' : 'held until 500 ms after enable';
        lines.push(`| ${label} | ${fmt(median(latencies[`cold-at-${notBefore}`] ?? []), 0)} | ${cell(latencies[`cold-${notBefore}`])} | ${cell(latencies[`warm-${notBefore}`])} |`);
      }
      lines.push(`| (a count alone) asked for at enable time: the worst cold case | 0 | ${cell(latencies['count-at-enable'])} | ${cell(latencies['count-warm'])} |`);
    }
    const table = lines.join('\n');
    process.stdout.write(`\n${table}\n`);
    // A partial run (--only) prints its tables but leaves docs/performance.md as it was.
    if (only.size < 4) return;

    const cpu = cpus();
    const machine = `${cpu[0]?.model ?? 'unknown CPU'} x${cpu.length}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
    writeResults(table, machine);
  } finally {
    emulator.process.kill();
  }
}

const BEGIN = '<!-- bench:results (written by npm run bench) -->';
const END = '<!-- /bench:results -->';

/** Replaces the results between the markers, keeping the hand-written text around them. */
function writeResults(table: string, machine: string): void {
  const path = resolve(root, 'docs', 'performance.md');
  const results = `${BEGIN}\n## Last results\n\nMachine: ${machine}. Date: ${new Date().toISOString().slice(0, 10)}.\n\n${table}\n${END}`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + results + current.slice(end + END.length)
      : `# Performance\n\n${results}\n\n${METHOD}`;
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
