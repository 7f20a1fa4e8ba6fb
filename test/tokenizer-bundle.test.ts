/**
 * The tokenizer worker in an app bundled into one file (esbuild, everything inlined), where
 * neither tokenizer-worker.js nor js-tiktoken is on disk: counting must still run in the
 * worker (the self-contained script the build generates), not fall back to the main thread,
 * where building an encoder stalls the app's event loop (~0.6 s for o200k on an idle core,
 * several seconds on a loaded one).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, it } from 'node:test';
import { buildSync } from 'esbuild';

const root = resolve(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'otel-llm-cost-tokenizer-bundle-'));
after(() => rmSync(work, { recursive: true, force: true }));

// Token counts of js-tiktoken 1.0.21 for these texts: the two encodings differ on them.
const TEXTS = {
  o200k_base: [['Привет, мир! 你好，世界。', 10], ['Wie viele Farben hat ein Regenbogen?', 8]],
  cl100k_base: [['Привет, мир! 你好，世界。', 15], ['Wie viele Farben hat ein Regenbogen?', 11]],
} as const;

it('a single-file bundle counts in the tokenizer worker, each encoding from the rank table it is sent', () => {
  const core = join(root, 'dist', 'cjs', 'core');
  if (!existsSync(join(core, 'tokenizer.js'))) {
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    assert.equal(build.status, 0, `build failed:\n${build.stdout}\n${build.stderr}`);
  }
  const entry = join(work, 'entry.js');
  // The first requests of each encoding start together: the one carrying the table must
  // still reach the worker first.
  writeFileSync(
    entry,
    `const { countTexts } = require(${JSON.stringify(join(core, 'tokenizer.js'))});
const { tokenizerWorkerState } = require(${JSON.stringify(join(core, 'tokenizer-thread.js'))});
const texts = ${JSON.stringify(TEXTS)};
Promise.all(Object.entries(texts).flatMap(([encoding, pairs]) => pairs.map(([text]) => countTexts(encoding, [text])))).then(
  (counts) => console.log(JSON.stringify({ counts: counts.flat(), state: tokenizerWorkerState() })),
  (error) => { console.error(error); process.exit(1); },
);
`,
  );
  const app = join(work, 'app', 'app.js');
  buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: app, logLevel: 'error' });
  const run = spawnSync(process.execPath, [app], { cwd: join(work, 'app'), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout) as { counts: number[]; state: string };
  assert.equal(result.state, 'running', 'counted in the worker, not on the main thread');
  assert.deepEqual(result.counts, [...TEXTS.o200k_base, ...TEXTS.cl100k_base].map(([, count]) => count));
});
