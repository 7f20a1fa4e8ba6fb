// `npm test`: the build (examples and packaging tests run the built package), the type
// check, then every test file under node's own test runner (TypeScript loaded through tsx).
// Extra arguments narrow the run to matching files and skip the build and type check.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2);
const files = readdirSync('test', { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts'))
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
process.exit(run(['--import', 'tsx', '--test', '--test-concurrency=2', ...files]));
