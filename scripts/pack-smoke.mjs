// The published package, tested as users get it: `npm pack`, then install the tarball in a
// fresh project outside the repository and use it from CommonJS, from ESM (with the
// documented `--import` registration) and from TypeScript (types for `require` and `import`),
// and start the emulator through the package's `otel-llm-cost-emulator` bin.
//
//   node scripts/pack-smoke.mjs        (after `npm run build`)
//
// The tarball's own dependencies come from the npm cache (`--offline`, falling back to
// `--prefer-offline` when the cache lacks some metadata). The app's other packages (the SDKs,
// the OpenTelemetry SDK, TypeScript) are linked from this repository's node_modules: they are
// the user's, not ours.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const root = mkdtempSync(join(tmpdir(), 'otel-llm-cost-pack-'));
const app = join(root, 'app');
const problems = [];
const step = (name, ok, detail = '') => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  if (!ok) problems.push(name);
};

try {
  // 1. Pack (the build is already there: scripts are skipped so nothing else runs).
  const packed = JSON.parse(
    execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  )[0];
  const files = packed.files.map((f) => f.path);
  const allowed = (path) => /^dist\/(cjs|esm)\//.test(path) || ['package.json', 'README.md', 'LICENSE', 'collector-config.yaml'].includes(path);
  // Source maps point at src/, which is not published: they would only be dead weight.
  const extra = files.filter((path) => !allowed(path) || /\.test\.|\.tsbuildinfo$|\.map$|(^|\/)dist\.build-/.test(path));
  step('published files are only dist/ (no source maps), README, package.json and the collector config', extra.length === 0, extra.slice(0, 5).join(', '));
  step(
    'every entry point of "exports" is in the tarball',
    exportTargets().every((target) => files.includes(target)),
  );
  console.log(`     ${packed.filename}: ${files.length} files, ${(packed.size / 1024).toFixed(0)} kB packed`);

  // 2. A fresh project outside the repository, the tarball installed with npm.
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'otel-llm-cost-smoke', private: true, version: '1.0.0' }, null, 2));
  const install = (mode) =>
    spawnSync(npm, ['install', mode, '--no-audit', '--no-fund', '--ignore-scripts', '--legacy-peer-deps', join(root, packed.filename)], {
      cwd: app,
      encoding: 'utf8',
    });
  let installed = install('--offline');
  if (installed.status !== 0) installed = install('--prefer-offline');
  step('npm install <tarball> in a fresh project', installed.status === 0, installed.status === 0 ? '' : installed.stderr.slice(-400));
  if (installed.status !== 0) throw new Error('install failed');
  for (const name of ['openai', '@anthropic-ai/sdk', '@opentelemetry/sdk-node', 'typescript', '@types/node']) {
    const link = join(app, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    rmSync(link, { recursive: true, force: true });
    symlinkSync(join(repo, 'node_modules', name), link, 'dir');
  }

  // 3. CommonJS, ESM and TypeScript apps using the installed package.
  for (const file of ['app.cjs', 'register.mjs', 'app.mjs', 'types.cts', 'types.mts']) {
    copyFileSync(join(repo, 'test', 'matrix', 'packaging', file), join(app, file));
  }
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', skipLibCheck: false, types: ['node'] },
      files: ['types.cts', 'types.mts'],
    }),
  );
  const run = (args) => spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8' });
  const cjs = run(['app.cjs']);
  step(
    'CommonJS app: require("otel-llm-cost") records a cut-short stream',
    cjs.status === 0,
    (cjs.stdout + cjs.stderr).trim().split('\n').slice(-3).join(' | '),
  );
  const esm = run(['--import', './register.mjs', 'app.mjs']);
  step('ES module app: --import registration records a cut-short stream', esm.status === 0, (esm.stdout + esm.stderr).trim().split('\n').slice(-3).join(' | '));
  const tsc = run([join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  step('types resolve for require (.cts) and import (.mts)', tsc.status === 0, (tsc.stdout + tsc.stderr).trim().split('\n').slice(0, 5).join(' | '));

  // 4. The emulator CLI, as `npx otel-llm-cost-emulator` runs it: the bin npm linked.
  const bin = join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'otel-llm-cost-emulator.cmd' : 'otel-llm-cost-emulator');
  const help = spawnSync(bin, ['--help'], { cwd: app, encoding: 'utf8' });
  step(
    'otel-llm-cost-emulator --help (the bin npm installed)',
    help.status === 0 && help.stdout.startsWith('Usage: otel-llm-cost-emulator'),
    (help.stdout + help.stderr).trim().split('\n')[0],
  );
  const served = await emulatorCliServes(bin);
  step('otel-llm-cost-emulator serves a chat completion and stops on SIGTERM', served.ok, served.detail);
} catch (error) {
  if (problems.length === 0) step('pack smoke test', false, String(error));
} finally {
  rmSync(root, { recursive: true, force: true });
}
process.exit(problems.length === 0 ? 0 : 1);

/** Starts the CLI on a free port, sends it one request, then stops it with SIGTERM. */
function emulatorCliServes(bin) {
  return new Promise((resolvePromise) => {
    const child = spawn(bin, ['--port', '0'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let answer = '';
    let asked = false;
    const onOutput = (text) => {
      output += text;
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (!url || asked) return;
      asked = true;
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer test' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
      })
        .then(async (response) => {
          const body = await response.json();
          answer = `${response.status} ${body.usage?.completion_tokens ?? '?'} completion tokens`;
        })
        .catch((error) => (answer = String(error)))
        .finally(() => child.kill('SIGTERM'));
    };
    child.stdout.setEncoding('utf8').on('data', onOutput);
    child.stderr.setEncoding('utf8').on('data', (text) => (output += text));
    child.on('close', (code, signal) => {
      const ok = code === 0 && /^200 \d+ completion tokens$/.test(answer);
      resolvePromise({ ok, detail: ok ? answer : `exit ${code ?? signal}, answer ${answer || 'none'}: ${output.trim().slice(-300)}` });
    });
  });
}

function exportTargets() {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
  const targets = [];
  const walk = (value) => {
    if (typeof value === 'string') targets.push(value.replace(/^\.\//, ''));
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(pkg.exports);
  return targets;
}
