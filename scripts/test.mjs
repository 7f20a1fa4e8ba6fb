// `npm test`: the build (examples and packaging tests run the built package) and the type
// check, side by side, then every test file under node's own test runner. TypeScript is loaded
// through scripts/ts-require.cjs rather than tsx: a test process then takes about a third less
// CPU (openai-chat.test.ts: 4.5 against 7.1 CPU-s), and the suite is CPU-bound on two cores.
// Extra arguments narrow the run to matching files and skip the build and type check. The
// SDK x Node x module-system matrix and the packed-tarball smoke test are `npm run test:matrix`
// (scripts/test-matrix.mjs).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The files that take longest (several processes, or real Prometheus scrapes) start first, so
 * that the run does not end waiting for one of them alone.
 */
const LONGEST = ['budget-redis-fleet', 'examples', 'prometheus', 'concurrency', 'budget-redis-store'];
const rank = (file) => {
  const at = LONGEST.findIndex((name) => file.includes(name));
  return at === -1 ? LONGEST.length : at;
};

const filters = process.argv.slice(2);
const files = readdirSync('test', { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts') && !f.split(/[\\/]/).includes('node_modules'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  .map((f) => join('test', f));
if (files.length === 0) {
  console.error(`test: no test file matches ${filters.join(', ')}`);
  process.exit(1);
}

const run = (args) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.on('error', () => resolve(1));
    child.on('close', (code) => resolve(code ?? 1));
  });

if (filters.length === 0) {
  const [build, typecheck] = await Promise.all([
    run([join('scripts', 'build.mjs')]),
    // Incremental: a run after a small change checks only what it touched (a fresh clone pays in full).
    run([
      join('node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.test.json',
      '--incremental',
      '--tsBuildInfoFile',
      join('node_modules', '.cache', 'otel-llm-cost', 'typecheck.tsbuildinfo'),
    ]),
  ]);
  if (build !== 0 || typecheck !== 0) {
    console.error(`test: ${build !== 0 ? 'the build' : 'the type check'} failed; no tests run`);
    process.exit(1);
  }
}
// Three files per core: a file often waits (on its child processes, on Prometheus' scrapes),
// and on a machine shared with other work the scheduler gives each runnable process its share,
// so more of them get the suite more of the CPU (beside two busy loops on 2 cores, 4 test
// processes get two thirds of it, 6 three quarters).
const concurrency = Math.max(2, availableParallelism()) * 3;
process.exit(await run(['--require', fileURLToPath(new URL('ts-require.cjs', import.meta.url)), '--test', `--test-concurrency=${concurrency}`, ...files]));
