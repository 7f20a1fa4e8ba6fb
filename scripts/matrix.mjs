// The compatibility matrix: the behaviour suite in test/matrix/suite.cjs against every SDK
// version we support (installed side by side as npm aliases), on Node 20, 22 and 24, as a
// CommonJS app, as an ES module app (with the documented `--import` registration) and as a
// single-file esbuild bundle (manual API: no module hook can fire there).
//
// Module hooks match a package by its name in the path (`node_modules/openai/...`), so an
// alias such as `openai-v4` is never hooked as `openai`. Each SDK version therefore gets a
// cell folder under node_modules/.cache whose `node_modules/openai` is a hard-linked copy of
// the alias: the app there loads `openai` exactly as a user's app does, through the real
// hooks. Everything else (OpenTelemetry, this package's build) resolves from the repository,
// except in the cells of the second OpenTelemetry line:
//
// Users are on two OpenTelemetry JS lines: npm gives Node 20 the 0.2xx line (sdk-node 0.2xx,
// api 1.9), which the repository installs; the 0.30x line (api 1.10) needs Node 22.15 or
// later, and test/otel-next installs it. Its cells run on Node 22 and 24 from folders inside
// test/otel-next/node_modules/.cache holding the SDK and a hard-linked copy of this package's
// build, so that every OpenTelemetry package, ours included, resolves from that tree first;
// each cell then checks what it really loaded (test/matrix/otel-line.cjs).
//
//   node scripts/matrix.mjs [--node 20,22,24] [--sdk openai@4,anthropic@1] [--mode cjs,esm,bundle]
//                           [--otel 0.2xx,0.30x]
//
// Needs `npm run build` first (`npm run test:matrix` does it, and installs test/otel-next).
// Node 22 and 24 come from the npm registry's `node` package through `npx -p node@NN`
// (downloaded once, then cached).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/**
 * Every SDK version of the matrix: the alias installed in node_modules (the repository's, or
 * `tree`'s), and the name apps use.
 */
const SDK_NEXT = join(repo, 'test', 'sdk-next', 'node_modules');
const SDKS = [
  { key: 'openai@4', provider: 'openai', alias: 'openai-v4', name: 'openai' },
  { key: 'openai@5', provider: 'openai', alias: 'openai-v5', name: 'openai' },
  { key: 'openai@6', provider: 'openai', alias: 'openai', name: 'openai' },
  // openai 7 requires Node 22; on Node 20 the same suite shows it does not break the app. It
  // is installed apart, in test/sdk-next, so that the repository's install warns of no engine.
  { key: 'openai@7', provider: 'openai', alias: 'openai-v7', name: 'openai', tree: SDK_NEXT },
  { key: 'anthropic@0.41', provider: 'anthropic', alias: 'anthropic-sdk-v0-legacy', name: '@anthropic-ai/sdk' },
  { key: 'anthropic@0.137', provider: 'anthropic', alias: 'anthropic-sdk-v0', name: '@anthropic-ai/sdk' },
  { key: 'anthropic@1', provider: 'anthropic', alias: '@anthropic-ai/sdk', name: '@anthropic-ai/sdk' },
];
const NODES = ['20', '22', '24'];
const MODES = ['cjs', 'esm', 'bundle'];
const CONCURRENCY = 2;

const option = (flag, all) => {
  const at = process.argv.indexOf(flag);
  return at === -1 ? all : process.argv[at + 1].split(',');
};
const sdkKeys = option(
  '--sdk',
  SDKS.map((s) => s.key),
);
const sdkSource = (sdk) => join(sdk.tree ?? join(repo, 'node_modules'), sdk.alias);
// A version whose tree is not installed fails the run in CI (never a silent pass); elsewhere it is skipped.
const missingSdks = SDKS.filter((s) => sdkKeys.includes(s.key) && !existsSync(join(sdkSource(s), 'package.json')));
for (const sdk of missingSdks) {
  const where = relative(repo, dirname(sdk.tree ?? join(repo, 'node_modules')));
  const message = `${sdk.key} is not installed: ${relative(repo, sdkSource(sdk))} is missing (run \`npm ci --prefix ${where}\`)`;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    console.error(`matrix: ${message}`);
    process.exit(1);
  }
  console.log(`matrix: skipping ${message}`);
}
const sdks = SDKS.filter((s) => sdkKeys.includes(s.key) && !missingSdks.includes(s));
const nodes = option('--node', NODES);
const modes = option('--mode', MODES);
const lineKeys = option('--otel', ['0.2xx', '0.30x']);

if (!existsSync(join(repo, 'dist', 'cjs', 'index.js'))) {
  console.error('matrix: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

const bundles = mkdtempSync(join(tmpdir(), 'otel-llm-cost-bundles-'));
const dist = join(repo, 'dist');
const otelLine = join(repo, 'test', 'matrix', 'otel-line.cjs');
const { inspectLoads } = require(otelLine);

function versionOf(packageDir) {
  return JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).version;
}

/**
 * The OpenTelemetry JS lines. `tree` is the node_modules their packages come from; a line
 * that is `separate` from the repository gets its cells inside its tree, and they check
 * that nothing OpenTelemetry loads from anywhere else.
 */
const LINES = [
  { key: '0.2xx', tree: join(repo, 'node_modules'), nodes: NODES, separate: false },
  { key: '0.30x', tree: join(repo, 'test', 'otel-next', 'node_modules'), nodes: ['22', '24'], separate: true, sdkNode: /^0\.3\d\d\./ },
]
  .filter((line) => lineKeys.includes(line.key))
  .map((line) => {
    const sdkNodeDir = join(line.tree, '@opentelemetry', 'sdk-node');
    const installed = existsSync(join(sdkNodeDir, 'package.json')) ? versionOf(sdkNodeDir) : undefined;
    const where = relative(repo, line.tree);
    const unavailable =
      installed === undefined
        ? `the OpenTelemetry ${line.key} line is not installed: ${where} has no @opentelemetry/sdk-node (run \`npm ci --prefix ${dirname(where)}\`)`
        : line.sdkNode && !line.sdkNode.test(installed)
          ? `${where} holds @opentelemetry/sdk-node ${installed}, not the ${line.key} line`
          : undefined;
    return {
      ...line,
      label: `otel ${installed ? installed.split('.').slice(0, 2).join('.') : line.key}`,
      sdkNodeVersion: installed,
      unavailable,
      workspace: join(line.tree, '.cache', 'otel-llm-cost-matrix'),
    };
  });

/** Hard-links a package of the repository's node_modules into a cell's, unless that version is there already. */
function linkPackage(name, cellDir) {
  const source = join(repo, 'node_modules', name);
  const target = join(cellDir, 'node_modules', name);
  if (existsSync(join(target, 'package.json')) && versionOf(target) === versionOf(source)) return;
  rmSync(target, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  try {
    execFileSync('cp', ['-al', source, target]); // hard links: instant, no extra space
  } catch {
    cpSync(source, target, { recursive: true });
  }
}

/**
 * This package as a user installs it, hard-linked into a cell's node_modules (refreshed every
 * run: builds replace dist/), with `redis`, the optional peer, beside it as in an app. Left in
 * the repository's tree, @redis/client would bring the repository's @opentelemetry/api into a
 * bundle: a second api copy that no app has.
 */
function installBuild(cellDir) {
  const redis = JSON.parse(readFileSync(join(repo, 'node_modules', 'redis', 'package.json'), 'utf8'));
  for (const name of ['redis', ...Object.keys(redis.dependencies ?? {})]) linkPackage(name, cellDir);
  const target = join(cellDir, 'node_modules', 'otel-llm-cost');
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  try {
    execFileSync('cp', ['-al', dist, join(target, 'dist')]);
  } catch {
    cpSync(dist, join(target, 'dist'), { recursive: true });
  }
  copyFileSync(join(repo, 'package.json'), join(target, 'package.json'));
  return target;
}

/** The cell folder of one SDK version, with its copy of the SDK under the real package name. */
function prepareSdk(sdk, line) {
  const source = sdkSource(sdk);
  const version = versionOf(source);
  const dir = join(line.workspace, sdk.key.replace('@', '-'));
  const target = join(dir, 'node_modules', sdk.name);
  if (!existsSync(join(target, 'package.json')) || versionOf(target) !== version) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    try {
      execFileSync('cp', ['-al', source, target]); // hard links: instant, no extra space
    } catch {
      cpSync(source, target, { recursive: true });
    }
  }
  const lit = (path) => JSON.stringify(path);
  const url = (path) => JSON.stringify(pathToFileURL(path).href);
  const harness = join(repo, 'test', 'matrix', 'otel-harness.cjs');
  const suite = join(repo, 'test', 'matrix', 'suite.cjs');
  const emulator = join(dist, 'cjs', 'emulator', 'index.js');
  // How a cell's files name this package, the harness and the emulator: by path into the
  // repository, or, in a separate line's cell, the way an app does (the harness is copied
  // into the cell so that its `@opentelemetry/sdk-node` resolves from the line's tree).
  const ref = line.separate
    ? {
        ours: { cjs: lit('otel-llm-cost'), esm: lit('otel-llm-cost'), bundle: lit('otel-llm-cost') },
        harness: { cjs: lit('./otel-harness.cjs'), esm: lit('./otel-harness.cjs'), bundle: lit('./otel-harness.cjs') },
        emulator: { cjs: lit('otel-llm-cost/emulator'), esm: lit('otel-llm-cost/emulator'), bundle: lit('otel-llm-cost/emulator') },
      }
    : {
        ours: { cjs: lit(join(dist, 'cjs', 'index.js')), esm: url(join(dist, 'esm', 'index.js')), bundle: lit(join(dist, 'esm', 'index.js')) },
        harness: { cjs: lit(harness), esm: url(harness), bundle: lit(harness) },
        emulator: { cjs: lit(emulator), esm: url(emulator), bundle: lit(emulator) },
      };
  let check = '';
  let ours;
  if (line.separate) {
    ours = installBuild(dir);
    copyFileSync(harness, join(dir, 'otel-harness.cjs'));
    // Preloaded (`--import`) before anything else, so that it sees every module load.
    writeFileSync(
      join(dir, 'watch-loads.cjs'),
      `const { watchLoads, checkLoads } = require(${lit(otelLine)});
const loads = watchLoads();
const line = ${JSON.stringify({ tree: line.tree, ours, repoBuild: dist })};
globalThis.matrixCheckLoads = (results) => checkLoads(results, loads(), line);
`,
    );
    check = `
    globalThis.matrixCheckLoads(results);`;
  }
  const finish = (cell) => `
  .then(async (results) => {${cell === 'bundle' ? '' : check}
    report(${JSON.stringify(cell)}, results);
    await otel.shutdown();
    process.exit(process.exitCode);
  }, (error) => {
    console.error(error);
    process.exit(1);
  });`;

  // CommonJS app: the SDK started first, then the app requires the SDK.
  writeFileSync(
    join(dir, 'cell.cjs'),
    `const { LLMCostInstrumentation } = require(${ref.ours.cjs});
const { startHarness } = require(${ref.harness.cjs});
const instrumentation = new LLMCostInstrumentation();
const otel = startHarness(instrumentation);
const sdk = require(${lit(sdk.name)});
const { runSuite, report } = require(${lit(suite)});
runSuite({ provider: ${lit(sdk.provider)}, sdk, otel, emulatorModule: require(${ref.emulator.cjs}), uninstrument: () => instrumentation.disable() })${finish('cjs')}
`,
  );
  // ES module app, preloaded with the registration file the README documents.
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';
import { LLMCostInstrumentation } from ${ref.ours.esm};
import harness from ${ref.harness.esm};

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
  data: { include: ['openai', '@anthropic-ai/sdk'] },
});
globalThis.matrixOtel = harness.startHarness(new LLMCostInstrumentation());
`,
  );
  writeFileSync(
    join(dir, 'cell.mjs'),
    `import * as sdk from ${lit(sdk.name)};
import suite from ${url(suite)};
import emulatorModule from ${ref.emulator.esm};

const { runSuite, report } = suite;
const otel = globalThis.matrixOtel;
runSuite({ provider: ${lit(sdk.provider)}, sdk, otel, emulatorModule, uninstrument: () => otel.instrumentation.disable() })${finish('esm')}
`,
  );
  // A single-file bundle: the SDK is inlined, so the app instruments it by hand. openai
  // cells use instrumentClient(client), anthropic cells patch(module).
  const manual = sdk.provider === 'openai' ? `prepareClient: (client) => instrumentation.instrumentClient(client)` : `prepareClient: (client) => client`;
  writeFileSync(
    join(dir, 'bundle-entry.mjs'),
    `import * as sdk from ${lit(sdk.name)};
import { LLMCostInstrumentation } from ${ref.ours.bundle};
import harness from ${ref.harness.bundle};
import suite from ${lit(suite)};
import emulatorModule from ${ref.emulator.bundle};

const { runSuite, report } = suite;
const instrumentation = new LLMCostInstrumentation();
const otel = harness.startHarness(instrumentation);
${sdk.provider === 'anthropic' ? 'if (!instrumentation.patch(sdk)) throw new Error("patch() did not recognise the SDK");' : ''}
runSuite({ provider: ${lit(sdk.provider)}, sdk, otel, emulatorModule, ${manual}, uninstrument: () => instrumentation.unpatch(sdk) })${finish('bundle')}
`,
  );
  return { ...sdk, version, dir, line, ours };
}

/** Bundles a cell; for a separate line, also checks from esbuild's metafile what went into it. */
function bundle(sdk) {
  const outdir = join(bundles, sdk.line.key, sdk.key.replace('@', '-'));
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, 'app.cjs');
  const { metafile } = require('esbuild').buildSync({
    entryPoints: [join(sdk.dir, 'bundle-entry.mjs')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'error',
    metafile: sdk.line.separate,
  });
  if (!sdk.line.separate) return { outfile };
  const at = (path) => resolve(process.cwd(), path); // metafile paths are relative to esbuild's working directory
  const edges = Object.entries(metafile.inputs).flatMap(([from, input]) =>
    input.imports.filter((i) => !i.external).map((i) => ({ from: at(from), to: at(i.path) })),
  );
  return { outfile, loads: inspectLoads(edges, { tree: sdk.line.tree, ours: sdk.ours, repoBuild: dist }) };
}

const nodeBinaries = new Map();
function nodeBinary(major) {
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  if (!nodeBinaries.has(major)) {
    const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
    try {
      const path = execFileSync(npx, ['-y', '-p', `node@${major}`, 'node', '-p', 'process.execPath'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).trim();
      nodeBinaries.set(major, path);
    } catch (error) {
      // Its cells fail with this reason rather than the whole matrix stopping here.
      nodeBinaries.set(
        major,
        new Error(
          `node@${major} could not be fetched with npx: ${String(error.stderr ?? error)
            .trim()
            .slice(-300)}`,
        ),
      );
    }
  }
  return nodeBinaries.get(major);
}

function runCell(cell) {
  if (cell.node instanceof Error) {
    return Promise.resolve({ ...cell, code: 1, result: { passed: [], failed: [{ name: 'node', error: cell.node.message }] }, seconds: 0 });
  }
  if (cell.unavailable) {
    return Promise.resolve({ ...cell, code: 1, result: { passed: [], failed: [{ name: 'setup', error: cell.unavailable }] }, seconds: 0 });
  }
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(cell.node, cell.args, { cwd: cell.cwd, env: { ...process.env, OTEL_SDK_DISABLED: '', NODE_OPTIONS: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('MATRIX-RESULT '));
      const result = line ? JSON.parse(line.slice('MATRIX-RESULT '.length)) : { passed: [], failed: [{ name: 'run', error: `exit ${code}\n${out}\n${err}` }] };
      let otel = out
        .split('\n')
        .find((l) => l.startsWith('MATRIX-OTEL '))
        ?.slice('MATRIX-OTEL '.length);
      if (cell.loads) {
        // A bundle loads nothing at run time: what it holds was checked when it was built.
        const name = `OpenTelemetry from ${cell.sdk.line.tree} (bundled): ${cell.loads.summary}`;
        if (cell.loads.problems.length === 0) result.passed.push(name);
        else result.failed.push({ name, error: cell.loads.problems.join('\n') });
        otel = cell.loads.summary;
      }
      done({ ...cell, code, result, otel, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const startedAt = Date.now();
// A line that is not installed fails its cells in CI (never a silent pass); elsewhere it is skipped.
const ci = process.env.CI === 'true' || process.env.CI === '1';
const skipped = LINES.filter((line) => line.unavailable && !ci);
for (const line of skipped) console.log(`matrix: skipping the ${line.label} cells: ${line.unavailable}`);
const prepared = LINES.filter((line) => !line.unavailable).flatMap((line) => sdks.map((sdk) => prepareSdk(sdk, line)));
const cells = [];
for (const line of LINES.filter((l) => l.unavailable && ci)) {
  for (const sdk of sdks) {
    prepared.push({ ...sdk, version: versionOf(sdkSource(sdk)), line });
    for (const major of nodes.filter((n) => line.nodes.includes(n))) {
      for (const mode of modes) cells.push({ sdk: prepared.at(-1), major, mode, unavailable: line.unavailable });
    }
  }
}
for (const sdk of prepared.filter((s) => !s.line.unavailable)) {
  const bundled = modes.includes('bundle') ? bundle(sdk) : undefined;
  for (const major of nodes.filter((n) => sdk.line.nodes.includes(n))) {
    const node = nodeBinary(major);
    // A separate line's cells first load the watcher that records which copies load.
    const watch = sdk.line.separate ? ['--import', pathToFileURL(join(sdk.dir, 'watch-loads.cjs')).href] : [];
    for (const mode of modes) {
      const args =
        mode === 'cjs'
          ? [...watch, join(sdk.dir, 'cell.cjs')]
          : mode === 'esm'
            ? [...watch, '--import', pathToFileURL(join(sdk.dir, 'register.mjs')).href, join(sdk.dir, 'cell.mjs')]
            : [bundled.outfile];
      // The bundle runs from its own folder outside the repository: nothing to resolve there.
      cells.push({
        sdk,
        major,
        mode,
        node,
        args,
        cwd: mode === 'bundle' ? dirname(bundled.outfile) : sdk.dir,
        loads: mode === 'bundle' ? bundled.loads : undefined,
      });
    }
  }
}

const results = [];
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < cells.length) results.push(await runCell(cells[next++]));
  }),
);
rmSync(bundles, { recursive: true, force: true });

// The table: one row per SDK version and OpenTelemetry line, one column per Node version and
// module system.
const columns = nodes.flatMap((major) => modes.map((mode) => ({ major, mode, title: `node${major} ${mode}` })));
const rowsOf = (line, sdkList, cellText) =>
  sdkList.map((sdk) => [`${sdk.name}@${sdk.version} · ${line.label}`, ...columns.map((c) => (line.nodes.includes(c.major) ? cellText(sdk, c) : '—'))]);
const rows = [
  ...LINES.filter((line) => !skipped.includes(line)).flatMap((line) =>
    rowsOf(
      line,
      prepared.filter((sdk) => sdk.line === line),
      (sdk, { major, mode }) => {
        const r = results.find((x) => x.sdk === sdk && x.major === major && x.mode === mode);
        const ok = r && r.code === 0 && r.result.failed.length === 0 && r.result.passed.length > 0;
        return ok ? `PASS ${r.result.passed.length}` : 'FAIL';
      },
    ),
  ),
  ...skipped.flatMap((line) =>
    rowsOf(
      line,
      sdks.map((sdk) => ({ ...sdk, version: versionOf(sdkSource(sdk)) })),
      () => 'SKIP',
    ),
  ),
];
const header = ['SDK · OpenTelemetry line', ...columns.map((c) => c.title)];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log('\nCompatibility matrix (PASS n = n checks passed):\n');
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
console.log('');
for (const otel of LINES) {
  const where = relative(repo, otel.tree);
  const ran = results.filter((r) => r.sdk.line === otel);
  const loads = [...new Set(ran.map((r) => r.otel).filter(Boolean))];
  const what = otel.sdkNodeVersion ? `@opentelemetry/sdk-node ${otel.sdkNodeVersion} from ${where}` : `not installed in ${where}`;
  const checked = loads.length > 0 ? `; the cells checked what they loaded: ${loads.join(' | ')}` : '';
  const skip = skipped.includes(otel) ? ' (SKIP: not installed)' : '';
  console.log(`${otel.label}: ${what}, on Node ${otel.nodes.filter((n) => nodes.includes(n)).join(', ') || '-'}${skip}${checked}`);
}
if (LINES.some((l) => nodes.some((n) => !l.nodes.includes(n)))) console.log('— : not run (that OpenTelemetry line does not support that Node version)');

const failures = results.filter((r) => !(r.code === 0 && r.result.failed.length === 0 && r.result.passed.length > 0));
for (const failure of failures) {
  console.log(`\nFAIL ${failure.sdk.key} · ${failure.sdk.line.label} node${failure.major} ${failure.mode}:`);
  for (const f of failure.result.failed)
    console.log(
      `  - ${f.name}\n${f.error
        .split('\n')
        .slice(0, 8)
        .map((l) => `      ${l}`)
        .join('\n')}`,
    );
}
const checks = results.reduce((n, r) => n + r.result.passed.length, 0);
console.log(`\n${results.length - failures.length}/${results.length} cells passed, ${checks} checks, ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
process.exit(failures.length === 0 ? 0 : 1);
