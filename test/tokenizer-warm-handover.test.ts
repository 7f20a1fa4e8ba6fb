/**
 * The warm-up worker builds the encoder, hands its tables over in shared memory and stops;
 * the worker the first count starts uses those tables instead of building them again.
 * Real worker threads, the real rank data; counts compared with js-tiktoken itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getEncoding } from 'js-tiktoken';
import { TokenizerWorker } from '../src/core/tokenizer-thread.js';

const texts = ['Hello, world!', 'Ünïcödé and emoji 🚀 in one line', 'a'.repeat(700), '   spaced\n\nlines\t'];
const o200k = getEncoding('o200k_base');
const expected = texts.map((text) => o200k.encode(text, [], []).length);

/** Waits (without a timed assertion: only a generous deadline) until `done()` holds. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the warm-up worker hands its tables over', () => {
  // The worker never holds a process open (by design): the test does, while it waits.
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => undefined, 1000);
  });
  after(() => clearInterval(keepAlive));

  it('stops once warm; the first count starts a worker that counts exactly and stays', async () => {
    const worker = new TokenizerWorker();
    try {
      worker.warm(['o200k_base']);
      assert.equal(worker.state(), 'running');
      await until(() => worker.state() === 'idle', 'the warm-up worker stopping');
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
    const worker = new TokenizerWorker();
    try {
      worker.warm(['o200k_base']);
      await until(() => worker.state() === 'idle', 'the warm-up worker stopping');
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
      await until(() => worker.sharedCounters().o200k_base !== undefined, 'the warm-up finishing');
      assert.equal(worker.state(), 'running');
    } finally {
      await worker.stop();
    }
  });
});
