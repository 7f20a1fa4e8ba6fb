/**
 * Cutting an injected option's `"usage":null` out of the bytes an SDK parses
 * (src/core/sdk-body-cut.ts): only a top-level member at the end of a complete event is cut,
 * whatever the event's strings hold and however the body is split into reads, and what is
 * left parses to the object the server sends without the option.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cutNullMembers, cutNullMemberFromSdkReads, nullMember } from '../src/core/sdk-body-cut.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const usage = nullMember('usage');

function cut(text: string): string {
  const bytes = encoder.encode(text);
  return decoder.decode(bytes.subarray(0, cutNullMembers(bytes, usage)));
}

describe('cutNullMembers', () => {
  it('cuts the member before the closing brace, or before plain trailing members', () => {
    assert.equal(cut('data: {"a":1,"usage":null}\n\n'), 'data: {"a":1}\n\n');
    assert.equal(cut('data: {"a":1,"usage":null,"obfuscation":"xY3"}\n\n'), 'data: {"a":1,"obfuscation":"xY3"}\n\n');
    assert.equal(
      cut('data: {"a":1,"usage":null,"obfuscation":"x"}\n\ndata: {"b":[],"usage":null}\n\ndata: [DONE]\n\n'),
      'data: {"a":1,"obfuscation":"x"}\n\ndata: {"b":[]}\n\ndata: [DONE]\n\n',
    );
  });

  it('leaves what it cannot be sure of', () => {
    const unchanged = [
      // inside a string: its quotes are escaped
      'data: {"a":"x\\",\\"usage\\":null}"}\n\n',
      // the first member (no comma before it), a nested object, a value that is not null
      'data: {"usage":null}\n\n',
      'data: {"a":{"b":1,"usage":null},"c":2}\n\n',
      'data: {"a":{"b":1,"usage":null}}\n\n',
      'data: {"a":1,"usage":{"total_tokens":3}}\n\n',
      // the event's end not in this read, or not `\n\n`
      'data: {"a":1,"usage":null}\n',
      'data: {"a":1,"usage":null}',
      'data: {"a":1,"usage":null}\r\n\r\n',
      // a trailing member that is not a plain string, spaces the API does not send
      'data: {"a":1,"usage":null,"o":"a\\\\"}\n\n',
      'data: {"a":1,"usage":null,"o":2}\n\n',
      'data: {"a":1,"usage": null}\n\n',
      'data: {"a":1 ,"usage":null ,"o":"x"}\n\n',
    ];
    for (const text of unchanged) assert.equal(cut(text), text, text);
  });

  it('property: every event parses to the same object with or without the member, however the body is split', () => {
    const text = fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', ',', ':', '{', '}', 'usage', 'null', 'é', '\n', '"usage":null') });
    const chunk = fc.record({
      id: text,
      choices: fc.array(fc.record({ index: fc.nat(3), delta: fc.record({ content: text }), usage: fc.constant(null) }), { maxLength: 2 }),
    });
    const event = fc.record({ chunk, obfuscation: fc.option(fc.stringMatching(/^[A-Za-z0-9]{0,12}$/), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(2000), { maxLength: 5 }), (events, splits) => {
        const body = events
          .map(({ chunk: c, obfuscation }) => {
            const sent = obfuscation === undefined ? { ...c, usage: null } : { ...c, usage: null, obfuscation };
            return `data: ${JSON.stringify(sent)}\n\n`;
          })
          .join('');
        const bytes = encoder.encode(body);
        const cuts = [...new Set(splits.map((s) => s % (bytes.length + 1)))].sort((a, b) => a - b);
        let out = '';
        let from = 0;
        for (const end of [...cuts, bytes.length]) {
          const read = bytes.slice(from, end);
          out += decoder.decode(read.subarray(0, cutNullMembers(read, usage)), { stream: true });
          from = end;
        }
        const parsed = out
          .split('\n\n')
          .filter((block) => block !== '')
          .map((block) => JSON.parse(block.slice('data: '.length)) as Record<string, unknown>);
        assert.equal(parsed.length, events.length);
        parsed.forEach((got, i) => {
          const { chunk: c, obfuscation } = events[i]!;
          const expected: Record<string, unknown> = obfuscation === undefined ? { ...c } : { ...c, obfuscation };
          // cut, or (the event was split across reads) left whole: never anything else
          if (Object.hasOwn(got, 'usage')) expected.usage = null;
          assert.deepEqual(got, JSON.parse(JSON.stringify(expected)));
        });
        // With no split, every event is cut.
        if (cuts.every((at) => at === 0 || at === bytes.length)) assert.ok(parsed.every((got) => !Object.hasOwn(got, 'usage')));
      }),
      { numRuns: 300 },
    );
  });
});

describe('cutNullMemberFromSdkReads', () => {
  const body = 'data: {"a":1,"usage":null,"obfuscation":"x"}\n\n';

  it('cuts what the async iterator and the reader give, not what the prototype reader gives', async () => {
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode(body));
          controller.close();
        },
      });
    const iterated = stream();
    assert.equal(cutNullMemberFromSdkReads(iterated, 'usage'), true);
    let text = '';
    for await (const read of iterated as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(read);
    assert.equal(text, 'data: {"a":1,"obfuscation":"x"}\n\n');

    const read = stream();
    cutNullMemberFromSdkReads(read, 'usage');
    const step = await read.getReader().read();
    assert.equal(decoder.decode(step.value), 'data: {"a":1,"obfuscation":"x"}\n\n');

    const raw = stream();
    cutNullMemberFromSdkReads(raw, 'usage');
    const getReader: () => ReadableStreamDefaultReader<Uint8Array> = ReadableStream.prototype.getReader;
    const rawReader = getReader.call(raw);
    const rawStep = await rawReader.read();
    assert.equal(decoder.decode(rawStep.value), body, 'a raw reader (body-tap.ts) gets the bytes as sent');
  });

  it('a read that fails reaches the reader unchanged, and nothing else is thrown', async () => {
    const failure = new Error('network');
    const failing = new ReadableStream<Uint8Array>({ pull: (c) => c.error(failure) });
    cutNullMemberFromSdkReads(failing, 'usage');
    await assert.rejects(failing.getReader().read(), (error) => error === failure);
    assert.equal(cutNullMemberFromSdkReads(undefined, 'usage'), false);
    assert.equal(cutNullMemberFromSdkReads({}, 'usage'), false);
  });
});
