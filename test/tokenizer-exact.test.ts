/**
 * Token counts are exact (equal to js-tiktoken's, which is what the provider uses for
 * OpenAI models) and linear in the text's length at any size: the long-piece method
 * (`src/core/bpe/long-piece.ts`) against js-tiktoken where js-tiktoken can still finish,
 * and against an independent heap implementation of the same merge rule beyond; and a
 * 6,000,000-character whitespace-free prompt through the real SDK and the emulator.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import { BpeCounter } from '../src/core/bpe/counter.js';
import type { RankData } from '../src/core/bpe/rank-table.js';
import { importRankData, type EncodingName } from '../src/core/tokenizer-count.js';
import { chatPromptTokens, loadTokenizer } from '../src/emulator/index.js';
import { heapMergeCount, rankMapOf } from './helpers/heap-bpe.js';
import { useHarness } from './helpers/harness.js';
import { attr, onlySpan, script } from './helpers/spans.js';

const ENCODINGS: EncodingName[] = ['o200k_base', 'cl100k_base'];

function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

interface Encoding {
  data: RankData;
  ours: BpeCounter;
  reference: Tiktoken;
}
const encodings = new Map<EncodingName, Encoding>();
before(async () => {
  for (const name of ENCODINGS) {
    const data = await importRankData(name);
    encodings.set(name, { data, ours: runToEnd(BpeCounter.build(data)), reference: new Tiktoken(data) });
  }
});

/** Seeded text of this repository: prose (the docs) and code (the sources). */
function repositoryText(folder: string, extension: string, chars: number): string {
  const files = readdirSync(folder, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(extension))
    .sort();
  let text = '';
  for (const file of files) {
    if (text.length >= chars) break;
    text += readFileSync(join(folder, file), 'utf8');
  }
  return text.slice(0, chars);
}

function seededBase64(bytes: number, seed: number): string {
  const out = Buffer.alloc(bytes);
  let state = seed >>> 0;
  for (let i = 0; i < bytes; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out.toString('base64');
}

const CJK_RUN = '我们的模型是一个大型语言模型由人工智能公司训练';

describe('token counts equal js-tiktoken', () => {
  const corpora: [string, () => string][] = [
    ['prose (README and docs)', () => readFileSync('README.md', 'utf8') + repositoryText('docs', '.md', 60_000)],
    ['code (src)', () => repositoryText('src', '.ts', 80_000)],
    ['base64', () => seededBase64(30_000, 7)],
    ["'a' runs", () => ['a'.repeat(600), 'a'.repeat(1000), ` ${'a'.repeat(1201)}!`, 'A'.repeat(700)].join(' ')],
    ['whitespace runs', () => ' '.repeat(1300) + 'x' + '\n'.repeat(700) + '\t \n'.repeat(250) + ' '.repeat(513)],
    ['punctuation runs', () => `${'='.repeat(900)}\n${'-'.repeat(600)}${'!?'.repeat(300)}`],
    ['CJK without punctuation', () => CJK_RUN.repeat(14)],
    ['special-token markers as text', () => 'a <|endoftext|> b <|endofprompt|><|fim_prefix|>'.repeat(20)],
    ['lone surrogates, emoji, combining marks', () => 'e\u0301\ud800x\udc00😀👍🏽 naïve Ωmega'.repeat(40)],
  ];
  for (const encoding of ENCODINGS) {
    for (const [name, make] of corpora) {
      it(`${encoding}: ${name}`, () => {
        const { ours, reference } = encodings.get(encoding)!;
        const text = make();
        assert.equal(ours.countNow(text), reference.encode(text, [], []).length);
      });
    }
  }

  it('random text from a hostile alphabet (property)', () => {
    const alphabet = ['a', 'B', 'é', 'Ω', '中', '😀', '\u0301', '\ud800', '1', '7', ' ', '  ', '\n', '\r\n', '\t', "'s", "'LL", '!', '/', '=', '<|endoftext|>'];
    const text = fc.array(fc.constantFrom(...alphabet), { maxLength: 120 }).map((parts) => parts.join(''));
    for (const encoding of ENCODINGS) {
      const { ours, reference } = encodings.get(encoding)!;
      fc.assert(
        fc.property(text, (t) => ours.countNow(t) === reference.encode(t, [], []).length),
        { numRuns: 300 },
      );
    }
  });

  it('long pieces (over 512 bytes, the linear method) from small alphabets (property)', () => {
    const piece = fc
      .tuple(fc.constantFrom('ab', 'aab', 'xyz', '中文', '==-', ' \n', 'Aa'), fc.integer({ min: 300, max: 450 }), fc.integer({ min: 0, max: 1000 }))
      .map(([letters, length, seed]) => {
        let s = '';
        let state = seed;
        for (let i = 0; i < length; i++) {
          state = (Math.imul(state, 1103515245) + 12345) >>> 0;
          s += letters[(state >>> 16) % letters.length];
        }
        return s;
      });
    for (const encoding of ENCODINGS) {
      const { ours, reference } = encodings.get(encoding)!;
      fc.assert(
        fc.property(piece, (t) => ours.countNow(t) === reference.encode(t, [], []).length),
        { numRuns: 12 },
      );
    }
  });
});

describe('long runs: exact and linear at any size', () => {
  const runs: [string, string][] = [
    ["'a' x 200,000", 'a'.repeat(200_000)],
    ["'=' x 100,000", '='.repeat(100_000)],
    ['spaces x 300,000', ' '.repeat(300_000)],
    ['CJK x 100,004', CJK_RUN.repeat(4348)],
  ];
  it('one long piece: equal to an independent heap implementation of the same merge', () => {
    const { data, ours } = encodings.get('o200k_base')!;
    const ranks = rankMapOf(data);
    for (const [name, run] of runs) {
      assert.equal(ours.countNow(run), heapMergeCount(ranks, new TextEncoder().encode(run)), name);
    }
  });

  it('6,000,000-character whitespace-free runs: counted, not thrown on', () => {
    for (const encoding of ENCODINGS) {
      const { ours } = encodings.get(encoding)!;
      // 'a' x 8 is a token that encodes as itself and is compatible with itself, so a run of
      // 8k 'a' is k tokens (the same argument the long-piece method rests on; js-tiktoken
      // agrees on 'a' x 1000 above).
      assert.equal(ours.countNow('a'.repeat(6_000_000)), 750_000, encoding);
      // Every three-digit group is one token in both encodings.
      assert.equal(ours.countNow('1234567890'.repeat(600_000)), 2_000_000, encoding);
    }
    const blob = randomBytes(4_500_000).toString('base64');
    assert.ok(encodings.get('o200k_base')!.ours.countNow(blob) > blob.length / 4);
  });
});

describe('through the SDK: a 6,000,000-character blob in a prompt', () => {
  const harness = useHarness();
  const { otel } = harness;

  it('a cut stream estimates the prompt exactly, not as characters / 4', async () => {
    // Digits: whitespace-free (the old guard's regex overflowed the stack on it), and cheap
    // enough for the emulator's own js-tiktoken to count (every three-digit group is a token).
    const blob = '3141592653'.repeat(600_000);
    const messages = [{ role: 'user' as const, content: blob }];
    const client = harness.openai();
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, script({ outputTokens: 30 }));
    let chunks = 0;
    for await (const _chunk of stream) if (++chunks === 3) break; // before the usage chunk
    const span = onlySpan(await otel.settle());
    const tokenizer = await loadTokenizer();
    const expected = chatPromptTokens(tokenizer, [{ role: 'user', content: '' }]) + 2_000_000;
    assert.equal(attr(span, 'llm_cost.usage.input_tokens.source'), 'estimated');
    assert.equal(attr(span, 'gen_ai.usage.input_tokens'), expected);
  });
});
