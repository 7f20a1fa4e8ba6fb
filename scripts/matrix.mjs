// The compatibility matrix: the behaviour suite in test/matrix/suite.cjs against every SDK
// version we support (installed side by side as npm aliases), on Node 20, 22 and 24, as a
// CommonJS app, as an ES module app (with the documented `--import` registration) and as a
// single-file esbuild bundle (manual API: no module hook can fire there).
//
// Module hooks match a package by its name in the path (`node_modules/openai/...`), so an
// alias such as `openai-v4` is never hooked as `openai`. Each SDK version therefore gets a
// cell folder under node_modules/.cache whose `node_modules/openai` is a hard-linked copy of
// the alias: the app there loads `openai` exactly as a user's app does, through the real
// hooks. Everything else (OpenTelemetry, this package's build) resolves from the repository.
//
//   node scripts/matrix.mjs [--node 20,22,24] [--sdk openai@4,anthropic@1] [--mode cjs,esm,bundle]
//
// Needs `npm run build` first (scripts/test.mjs does it). Node 22 and 24 come from the npm
// registry's `node` package through `npx -p node@NN` (downloaded once, then cached).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Every SDK version of the matrix: the alias installed in node_modules, and the name apps use. */
const SDKS = [
  { key: 'openai@4', provider: 'openai', alias: 'openai-v4', name: 'openai' },
  { key: 'openai@5', provider: 'openai', alias: 'openai-v5', name: 'openai' },
  { key: 'openai@6', provider: 'openai', alias: 'openai', name: 'openai' },
  // openai 7 requires Node 22; on Node 20 the same suite shows it does not break the app.
  { key: 'openai@7', provider: 'openai', alias: 'openai-v7', name: 'openai' },
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
const sdkKeys = option('--sdk', SDKS.map((s) => s.key));
const sdks = SDKS.filter((s) => sdkKeys.includes(s.key));
const nodes = option('--node', NODES);
const modes = option('--mode', MODES);

if (!existsSync(join(repo, 'dist', 'cjs', 'index.js'))) {
  console.error('matrix: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

const workspace = join(repo, 'node_modules', '.cache', 'otel-llm-cost-matrix');
const bundles = mkdtempSync(join(tmpdir(), 'otel-llm-cost-bundles-'));

function versionOf(packageDir) {
  return JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).version;
}

/** The cell folder of one SDK version, with its copy of the SDK under the real package name. */
function prepareSdk(sdk) {
  const source = join(repo, 'node_modules', sdk.alias);
  const version = versionOf(source);
  const dir = join(workspace, sdk.key.replace('@', '-'));
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
  const dist = join(repo, 'dist');
  const harness = join(repo, 'test', 'matrix', 'otel-harness.cjs');
  const suite = join(repo, 'test', 'matrix', 'suite.cjs');
  const emulator = join(dist, 'cjs', 'emulator', 'index.js');
  const finish = (cell) => `
  .then(async (results) => {
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
    `const { LLMCostInstrumentation } = require(${lit(join(dist, 'cjs', 'index.js'))});
const { startHarness } = require(${lit(harness)});
const instrumentation = new LLMCostInstrumentation();
const otel = startHarness(instrumentation);
const sdk = require(${lit(sdk.name)});
const { runSuite, report } = require(${lit(suite)});
runSuite({ provider: ${lit(sdk.provider)}, sdk, otel, emulatorModule: require(${lit(emulator)}), uninstrument: () => instrumentation.disable() })${finish('cjs')}
`,
  );
  // ES module app, preloaded with the registration file the README documents.
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';
import { LLMCostInstrumentation } from ${url(join(dist, 'esm', 'index.js'))};
import harness from ${url(harness)};

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
import emulatorModule from ${url(emulator)};

const { runSuite, report } = suite;
const otel = globalThis.matrixOtel;
runSuite({ provider: ${lit(sdk.provider)}, sdk, otel, emulatorModule, uninstrument: () => otel.instrumentation.disable() })${finish('esm')}
`,
  );
  // A single-file bundle: the SDK is inlined, so the app instruments it by hand. openai
  // cells use instrumentClient(client), anthropic cells patch(module).
  const manual =
    sdk.provider === 'openai'
      ? `prepareClient: (client) => instrumentation.instrumentClient(client)`
      : `prepareClient: (client) => client`;
  writeFileSync(
    join(dir, 'bundle-entry.mjs'),
    `import * as sdk from ${lit(sdk.name)};
import { LLMCostInstrumentation } from ${lit(join(dist, 'esm', 'index.js'))};
import harness from ${lit(harness)};
import suite from ${lit(suite)};
import emulatorModule from ${lit(emulator)};

const { runSuite, report } = suite;
const instrumentation = new LLMCostInstrumentation();
const otel = harness.startHarness(instrumentation);
${sdk.provider === 'anthropic' ? 'if (!instrumentation.patch(sdk)) throw new Error("patch() did not recognise the SDK");' : ''}
runSuite({ provider: ${lit(sdk.provider)}, sdk, otel, emulatorModule, ${manual}, uninstrument: () => instrumentation.unpatch(sdk) })${finish('bundle')}
`,
  );
  return { ...sdk, version, dir };
}

function bundle(sdk) {
  const outdir = join(bundles, sdk.key.replace('@', '-'));
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, 'app.cjs');
  require('esbuild').buildSync({
    entryPoints: [join(sdk.dir, 'bundle-entry.mjs')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  return outfile;
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
      nodeBinaries.set(major, new Error(`node@${major} could not be fetched with npx: ${String(error.stderr ?? error).trim().slice(-300)}`));
    }
  }
  return nodeBinaries.get(major);
}

function runCell(cell) {
  if (cell.node instanceof Error) {
    return Promise.resolve({ ...cell, code: 1, result: { passed: [], failed: [{ name: 'node', error: cell.node.message }] }, seconds: 0 });
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
      done({ ...cell, code, result, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const startedAt = Date.now();
const prepared = sdks.map(prepareSdk);
const cells = [];
for (const sdk of prepared) {
  const bundled = modes.includes('bundle') ? bundle(sdk) : undefined;
  for (const major of nodes) {
    const node = nodeBinary(major);
    for (const mode of modes) {
      const args =
        mode === 'cjs' ? [join(sdk.dir, 'cell.cjs')]
        : mode === 'esm' ? ['--import', pathToFileURL(join(sdk.dir, 'register.mjs')).href, join(sdk.dir, 'cell.mjs')]
        : [bundled];
      // The bundle runs from its own folder outside the repository: nothing to resolve there.
      cells.push({ sdk, major, mode, node, args, cwd: mode === 'bundle' ? dirname(bundled) : sdk.dir });
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

// The table: one row per SDK version, one column per Node version and module system.
const columns = nodes.flatMap((major) => modes.map((mode) => ({ major, mode, title: `node${major} ${mode}` })));
const rows = prepared.map((sdk) => [
  `${sdk.name}@${sdk.version}`,
  ...columns.map(({ major, mode }) => {
    const r = results.find((x) => x.sdk.key === sdk.key && x.major === major && x.mode === mode);
    const ok = r && r.code === 0 && r.result.failed.length === 0 && r.result.passed.length > 0;
    return ok ? `PASS ${r.result.passed.length}` : 'FAIL';
  }),
]);
const header = ['SDK', ...columns.map((c) => c.title)];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log('\nCompatibility matrix (PASS n = n checks passed):\n');
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));

const failures = results.filter((r) => !(r.code === 0 && r.result.failed.length === 0 && r.result.passed.length > 0));
for (const failure of failures) {
  console.log(`\nFAIL ${failure.sdk.key} node${failure.major} ${failure.mode}:`);
  for (const f of failure.result.failed) console.log(`  - ${f.name}\n${f.error.split('\n').slice(0, 8).map((l) => `      ${l}`).join('\n')}`);
}
const checks = results.reduce((n, r) => n + r.result.passed.length, 0);
console.log(`\n${results.length - failures.length}/${results.length} cells passed, ${checks} checks, ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
process.exit(failures.length === 0 ? 0 : 1);
