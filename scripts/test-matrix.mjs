// `npm run test:matrix`: the package as users get it, beyond `npm test`:
//   1. the build;
//   2. the trees installed apart, each with `npm ci --prefix <tree>` when it is missing or does
//      not match its lockfile: test/otel-next (the OpenTelemetry 0.30x line) and test/sdk-next
//      (SDK versions that declare Node >= 22: on Node 20 npm warns of their engine, rightly);
//   3. the SDK x Node x module-system matrix on both OpenTelemetry lines (scripts/matrix.mjs;
//      Node 22 and 24 come through `npx -p node@NN`);
//   4. the packed tarball installed in a fresh project (scripts/pack-smoke.mjs).
// Every step runs even when an earlier check failed; the exit code says whether all passed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TREES = [join('test', 'otel-next'), join('test', 'sdk-next')];
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (command, args, options = {}) => spawnSync(command, args, { cwd: repo, stdio: 'inherit', ...options }).status ?? 1;

const build = run(process.execPath, [join('scripts', 'build.mjs')]);
if (build !== 0) process.exit(build);

for (const tree of TREES) {
  const stale = staleness(join(repo, tree));
  if (!stale) continue;
  // Warnings left out: on Node 20 npm rightly says these packages declare Node >= 22.
  console.log(`test:matrix: installing ${tree} (${stale}; npm ci --prefix ${tree} --loglevel=error)`);
  const installed = run(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', join(repo, tree)]);
  if (installed !== 0) {
    console.error(`test:matrix: \`npm ci --prefix ${tree}\` failed`);
    process.exit(installed);
  }
}

const steps = [
  ['compatibility matrix', [join('scripts', 'matrix.mjs')]],
  ['packed-tarball smoke test', [join('scripts', 'pack-smoke.mjs')]],
].map(([name, args]) => ({ name, code: run(process.execPath, args) }));
console.log('');
for (const { name, code } of steps) console.log(`test:matrix: ${name}: ${code === 0 ? 'passed' : `FAILED (exit ${code})`}`);
process.exit(steps.some((step) => step.code !== 0) ? 1 : 0);

/**
 * Why a tree needs `npm ci`, or undefined when its node_modules matches its lockfile (npm
 * records what it installed in node_modules/.package-lock.json).
 */
function staleness(tree) {
  const installedFile = join(tree, 'node_modules', '.package-lock.json');
  if (!existsSync(installedFile)) return 'not installed';
  const wanted = JSON.parse(readFileSync(join(tree, 'package-lock.json'), 'utf8')).packages ?? {};
  const installed = JSON.parse(readFileSync(installedFile, 'utf8')).packages ?? {};
  for (const [path, entry] of Object.entries(wanted)) {
    if (path === '' || entry.optional) continue;
    if (installed[path]?.version !== entry.version) {
      return `${path.replace(/^node_modules\//, '')} ${installed[path]?.version ?? 'missing'}, the lockfile wants ${entry.version}`;
    }
  }
  return undefined;
}
