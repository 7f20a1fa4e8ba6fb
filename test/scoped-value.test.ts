/**
 * ScopedValue (the recorded-request mark and the budget scopes): carried in the
 * OpenTelemetry context once a context manager is registered, so that on Node 20 no second
 * AsyncLocalStorage adds work to every promise of the process; still carried without one.
 * The two cases run in this order on purpose: first no manager, then NodeSDK's.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ScopedValue } from '../src/core/scoped-value.js';

const key = Symbol('test: scoped value');

async function seenAcrossAsyncSteps(scoped: ScopedValue<string>): Promise<(string | undefined)[]> {
  const seen: (string | undefined)[] = [scoped.get()];
  await scoped.run('outer', async () => {
    await sleep(1);
    seen.push(scoped.get());
    await scoped.run('inner', async () => {
      await new Promise((done) => setImmediate(done));
      seen.push(scoped.get());
    });
    seen.push(scoped.get());
  });
  seen.push(scoped.get());
  return seen;
}

/** A function that throws, or whose promise rejects, leaves no value behind it. */
async function rejectedLeavesNothing(scoped: ScopedValue<string>): Promise<void> {
  assert.throws(
    () =>
      scoped.run('thrown', () => {
        throw new Error('sync failure');
      }),
    /sync failure/,
  );
  assert.equal(scoped.get(), undefined);
  await assert.rejects(
    scoped.run('rejected', async () => {
      await sleep(1);
      throw new Error('async failure');
    }),
    /async failure/,
  );
  assert.equal(scoped.get(), undefined);
}

describe('ScopedValue', () => {
  it('follows async steps without a context manager (its own storage)', async () => {
    const scoped = new ScopedValue<string>(key);
    assert.deepEqual(await seenAcrossAsyncSteps(scoped), [undefined, 'outer', 'inner', 'outer', undefined]);
    await rejectedLeavesNothing(scoped);
    // Nothing was put in the (no-op) context.
    await scoped.run('x', async () => assert.equal(context.active().getValue(key), undefined));
  });

  it('travels in the OpenTelemetry context once a context manager is registered', async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const anotherKey = Symbol('test: another value');
      const scoped = new ScopedValue<string>(anotherKey, Symbol.for('otel-llm-cost.test.scoped-value.storage'));
      assert.deepEqual(await seenAcrossAsyncSteps(scoped), [undefined, 'outer', 'inner', 'outer', undefined]);
      await rejectedLeavesNothing(scoped);
      await scoped.run('in context', async () => {
        await sleep(1);
        assert.equal(context.active().getValue(anotherKey), 'in context');
      });
      // No storage of its own was created.
      assert.equal((globalThis as Record<symbol, unknown>)[Symbol.for('otel-llm-cost.test.scoped-value.storage')], undefined);
    } finally {
      context.disable();
    }
  });
});
