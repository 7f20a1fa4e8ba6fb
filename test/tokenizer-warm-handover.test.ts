/**
 * The warm-up worker builds the encoder, hands its tables over in shared memory and stops;
 * the worker the first count starts uses those tables instead of building them again.
 * Real worker threads, the real rank data; counts compared with js-tiktoken itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import { Tokenizer } from '../src/core/tokenizer.js';
import { MainThreadCounting } from '../src/core/tokenizer-main-thread.js';
import { TokenizerWorker } from '../src/core/tokenizer-thread.js';
import { waitFor } from './helpers/wait-for.js';

const texts = ['Hello, world!', 'Ünïcödé and emoji 🚀 in one line', 'a'.repeat(700), '   spaced\n\nlines\t'];
const o200k = getEncoding('o200k_base');
const expected = texts.map((text) => o200k.encode(text, [], []).length);

/**
 * The real worker the first time; from the second start on, a worker that throws as it
 * starts (as when a process has hit its thread limit after enable).
 */
function startsOnce(): string {
  const marker = join(mkdtempSync(join(tmpdir(), 'olc-tokenizer-')), 'started');
  return [
    `const fs = require('node:fs');`,
    `if (fs.existsSync(${JSON.stringify(marker)})) throw new Error('hostile test worker: cannot start again');`,
    `fs.writeFileSync(${JSON.stringify(marker)}, '');`,
    `require(${JSON.stringify(require.resolve('tsx/cjs'))});`,
    `require(${JSON.stringify(join(__dirname, '..', 'src', 'core', 'tokenizer-worker.ts'))});`,
  ].join('\n');
}

/** A worker whose warm-up has built o200k, handed it over and stopped. */
async function warmedAndStopped(): Promise<TokenizerWorker> {
  const worker = new TokenizerWorker();
  worker.warm(['o200k_base']);
  assert.equal(worker.state(), 'running');
  await waitFor(() => worker.state() === 'idle', 'the warm-up worker stopping');
  return worker;
}

describe('the warm-up worker hands its tables over', () => {
  // The worker never holds a process open (by design): the test does, while it waits.
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => undefined, 1000);
  });
  after(() => clearInterval(keepAlive));

  it('stops once warm; the first count starts a worker that counts exactly and stays', async () => {
    const worker = await warmedAndStopped();
    try {
      assert.ok(worker.sharedCounters().o200k_base, 'the built counter is kept');
      assert.ok(worker.sharedCounters().o200k_base?.table.slots.buffer instanceof SharedArrayBuffer);

      assert.deepEqual(await worker.count('o200k_base', texts), expected);
      assert.equal(worker.state(), 'running');
      // Warming what is already built starts nothing and stops nothing.
      worker.warm(['o200k_base']);
      assert.deepEqual(await worker.count('o200k_base', texts), expected);
      assert.equal(worker.state(), 'running');
      assert.equal(worker.unavailableReason, undefined);
    } finally {
      await worker.stop();
    }
  });

  it('the counting worker reads the shared table, it does not build one (a table cleared on this side changes its counts)', async () => {
    const worker = await warmedAndStopped();
    try {
      const shared = worker.sharedCounters().o200k_base!;
      // Every look-up now misses: a piece that is one token is counted byte by byte.
      shared.table.slots.fill(0);
      const counts = await worker.count('o200k_base', ['Hello']);
      assert.deepEqual(counts, [5]);
    } finally {
      await worker.stop();
    }
  });

  it('a count that arrives while the warm-up runs keeps that worker: nothing is stopped or started twice', async () => {
    const worker = new TokenizerWorker();
    try {
      worker.warm(['o200k_base']);
      assert.deepEqual(await worker.count('o200k_base', texts), expected);
      await waitFor(() => worker.sharedCounters().o200k_base !== undefined, 'the warm-up finishing');
      assert.equal(worker.state(), 'running');
    } finally {
      await worker.stop();
    }
  });

  it('a worker that cannot start at the first count: the main thread counts with the table the warm-up built, said once', async () => {
    const warnings: string[] = [];
    const tokenizer = new Tokenizer({ worker: { source: startsOnce() }, warn: (message) => warnings.push(message) });
    try {
      tokenizer.warm(['o200k_base']);
      await waitFor(() => tokenizer.workerState() === 'idle', 'the warm-up worker stopping');
      assert.deepEqual(await tokenizer.count('o200k_base', texts), expected);
      assert.equal(tokenizer.workerState(), 'unavailable');
      assert.deepEqual(tokenizer.mainThreadEncodings(), ['o200k_base']);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /cannot start again.*main thread/);
    } finally {
      await tokenizer.stop();
    }
  });

  it('the main-thread fallback reads the shared table, it does not build one', async () => {
    const worker = await warmedAndStopped();
    try {
      const mainThread = new MainThreadCounting(4, () => worker.sharedCounters());
      worker.sharedCounters().o200k_base?.table.slots.fill(0);
      assert.deepEqual(await mainThread.count('o200k_base', ['Hello']), [5]);
    } finally {
      await worker.stop();
    }
  });
});
