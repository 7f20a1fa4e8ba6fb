// `npm test`: the build (examples and packaging tests run the built package), the type
// check, then every test file under node's own test runner (TypeScript loaded through tsx).
// Extra arguments narrow the run to matching files and skip the build and type check (and
// the compatibility matrix and packaging smoke test that follow a full run).
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

const run = (args) => spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;

if (filters.length === 0) {
  const build = run([join('scripts', 'build.mjs')]);
  if (build !== 0) process.exit(build);
  const typecheck = run([join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json']);
  if (typecheck !== 0) process.exit(typecheck);
}
const tests = run(['--import', 'tsx', '--test', '--test-concurrency=2', ...files]);
if (filters.length > 0 || tests !== 0) process.exit(tests);
// The full run also checks the package as users get it: the SDK version x Node version x
// module system matrix, and the packed tarball installed in a fresh project.
const matrix = run([join('scripts', 'matrix.mjs')]);
const packed = run([join('scripts', 'pack-smoke.mjs')]);
process.exit(matrix || packed);
