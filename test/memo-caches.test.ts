/**
 * The small caches of the per-request path (bounded-memo.ts, per-client.ts): a result is
 * computed once, an `undefined` result too, a changed base URL is looked at again, and an
 * endless stream of new keys cannot grow a cache past its bound.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedMemo } from '../src/core/bounded-memo.js';
import { perClient } from '../src/core/per-client.js';

describe('boundedMemo', () => {
  it('computes each key once, undefined results included', () => {
    const calls: string[] = [];
    const memo = boundedMemo((key) => {
      calls.push(key);
      return key.startsWith('http') ? key.length : undefined;
    }, 8);
    assert.equal(memo('https://a'), 9);
    assert.equal(memo('https://a'), 9);
    assert.equal(memo('/relative'), undefined);
    assert.equal(memo('/relative'), undefined);
    assert.deepEqual(calls, ['https://a', '/relative']);
  });

  it('a new key per call never holds more than the bound', () => {
    let computed = 0;
    const memo = boundedMemo((key) => {
      computed++;
      return key;
    }, 4);
    for (let i = 0; i < 1000; i++) memo(`model-${i}`);
    assert.equal(computed, 1000);
    // The last keys are still known after the clear that made room for them.
    const before = computed;
    memo('model-999');
    assert.equal(computed, before);
  });
});

describe('perClient', () => {
  it('once per client and base URL; a changed base URL or a missing client is computed again', () => {
    let computed = 0;
    const facts = perClient((client) => {
      computed++;
      return String(client?.baseURL ?? 'none');
    });
    const client = { baseURL: 'https://api.openai.com/v1' };
    const resource = { _client: client };
    assert.equal(facts(resource), 'https://api.openai.com/v1');
    assert.equal(facts({ _client: client }), 'https://api.openai.com/v1');
    assert.equal(computed, 1);
    client.baseURL = 'http://127.0.0.1:8080/v1';
    assert.equal(facts(resource), 'http://127.0.0.1:8080/v1');
    assert.equal(computed, 2);
    assert.equal(facts({}), 'none');
    assert.equal(facts(undefined), 'none');
    assert.equal(computed, 4);
  });
});
