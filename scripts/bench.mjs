// `npm run bench -- [options]`: builds the package, runs bench/run.ts with the options
// (npm appends them to the end of a script line, which would hand them to the last
// command only), then the in-process benches (our own work per chunk through the SDKs, and
// the fetch-path wrapper) unless `--only` chose sections.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const run = (script, scriptArgs = []) => {
  const result = spawnSync(process.execPath, script.endsWith('.mjs') ? [script, ...scriptArgs] : ['--import', 'tsx', script, ...scriptArgs], {
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run('scripts/build.mjs');
run('bench/run.ts', args);
if (!args.includes('--only')) {
  run('bench/sdk-stream.ts');
  run('bench/fetch.ts');
}
