// `npm test`: the build (examples and packaging tests run the built package), the type
// check, then every test file under node's own test runner (TypeScript loaded through tsx).
// Extra arguments narrow the run to matching files and skip the build and type check.
// The SDK x Node x module-system matrix and the packed-tarball smoke test are
// `npm run test:matrix` (scripts/test-matrix.mjs).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2);
const files = readdirSync('test', { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts') && !f.split(/[\\/]/).includes('node_modules'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .map((f) => join('test', f));
if (files.length === 0) {
  console.error(`test: no test file matches ${filters.join(', ')}`);
  process.exit(1);
}

const run = (args) => spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;

if (filters.length === 0) {
  const build = run([join('scripts', 'build.mjs')]);
  if (build !== 0) process.exit(build);
  const typecheck = run([join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json']);
  if (typecheck !== 0) process.exit(typecheck);
}
process.exit(run(['--import', 'tsx', '--test', '--test-concurrency=2', ...files]));
