/**
 * The byte-level SSE parser and frame editor behind `costFetch` and raw SDK bodies: the same
 * events however the body is split into reads (one byte at a time, a `\r\n` cut in two, a
 * multi-byte character cut in two, everything in one read), and edits that leave exactly the
 * bytes a server sends without the injected option.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameEditor, nullMemberRange } from '../src/core/frame-editor.js';
import { SseFrames, type SseEvent } from '../src/core/sse-frames.js';

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);

interface Seen {
  event: SseEvent;
  block: string;
}

/** Parses `body` delivered in the reads `splits` cuts it into. */
function parse(body: Uint8Array, splits: readonly number[]): Seen[] {
  const frames = new SseFrames();
  const seen: Seen[] = [];
  const decode = (start: number, end: number) => new TextDecoder().decode(body.subarray(start, end));
  const onEvent = (event: SseEvent, start: number, end: number) => {
    seen.push({ event, block: decode(start, end) });
  };
  let at = 0;
  for (const cut of [...new Set(splits)].sort((a, b) => a - b)) {
    if (cut <= at || cut >= body.length) continue;
    frames.push(body.slice(at, cut), onEvent);
    at = cut;
  }
  frames.push(body.slice(at), onEvent);
  frames.finish(onEvent);
  return seen;
}

/** A reference reading of the WHATWG rules over the whole text. */
function reference(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  let data: string[] | undefined;
  let type: string | undefined;
  const body = text.startsWith('\ufeff') ? text.slice(1) : text;
  const lines = body.split(/\r\n|\r|\n/);
  // The last piece has no line end: it is not a line.
  lines.pop();
  for (const line of lines) {
    if (line === '') {
      if (data !== undefined) events.push({ type, data: data.join('\n') });
      data = undefined;
      type = undefined;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') (data ??= []).push(value);
    else if (name === 'event') type = value;
  }
  return events;
}

const lineEnd = fc.constantFrom('\n', '\r\n', '\r');
const value = fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', ' ', ':', '{', '"', 'x') });
const line = fc.oneof(
  fc.tuple(fc.constant('data:'), fc.constantFrom('', ' '), value).map(([a, b, c]) => a + b + c),
  value.map((v) => `event: ${v}`),
  value.map((v) => `: ${v}`),
  value.map((v) => `id: ${v}`),
  fc.constant('data'),
);
const block = fc.tuple(fc.array(fc.tuple(line, lineEnd), { maxLength: 4 }), lineEnd).map(([lines, end]) => lines.map(([l, e]) => l + e).join('') + end);
const body = fc
  .tuple(fc.boolean(), fc.array(block, { maxLength: 8 }), fc.option(line))
  .map(([bom, blocks, tail]) => (bom ? '\ufeff' : '') + blocks.join('') + (tail ?? ''));

describe('SSE parsing over bytes', () => {
  it('finds the same events as a whole-text reading, however the body is split', () => {
    fc.assert(
      fc.property(body, fc.array(fc.nat(400), { maxLength: 12 }), (text, splits) => {
        const raw = bytes(text);
        const seen = parse(raw, splits).map((s) => s.event);
        assert.deepEqual(seen, reference(text));
        // One byte per read: every split point at once.
        assert.deepEqual(
          parse(raw, [...raw.keys()]).map((s) => s.event),
          reference(text),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('reports each event with its whole block, line ends included', () => {
    const text = ': hello\r\nevent: a\r\ndata: {"x":1}\r\n\r\ndata: 2\n\n\ndata: 3\r\r';
    const seen = parse(bytes(text), [5, 17, 18, 33, 34]);
    assert.deepEqual(
      seen.map((s) => s.block),
      // A blank line outside any event is a block of its own, never part of an event's.
      [': hello\r\nevent: a\r\ndata: {"x":1}\r\n\r\n', 'data: 2\n\n', 'data: 3\r\r'],
    );
  });

  it('joins multi-line data and drops an event the body cut off', () => {
    const seen = parse(bytes('data: a\ndata:b\ndata\n\ndata: cut off'), [3, 9]);
    assert.deepEqual(
      seen.map((s) => s.event.data),
      ['a\nb\n'],
    );
  });

  it('stays linear on a long line delivered in many small reads', () => {
    const long = `data: ${'x'.repeat(2_000_000)}\n\n`;
    const raw = bytes(long);
    const frames = new SseFrames();
    let data = '';
    for (let at = 0; at < raw.length; at += 1000) frames.push(raw.subarray(at, at + 1000), (event) => void (data = event.data));
    assert.equal(data.length, 2_000_000);
  });
});

describe('the frame editor', () => {
  const key = bytes('"usage"');
  const cut = (text: string) => {
    const raw = bytes(text);
    const range = nullMemberRange(raw, key);
    return range ? text.slice(0, range[0]) + text.slice(range[1]) : undefined;
  };

  it('removes a top-level "usage": null with one adjacent comma', () => {
    assert.equal(cut('data: {"id":"a","choices":[],"usage":null}\n\n'), 'data: {"id":"a","choices":[]}\n\n');
    assert.equal(cut('data: {"usage":null,"id":"a"}\n\n'), 'data: {"id":"a"}\n\n');
    assert.equal(cut('data: { "id": "a", "usage": null }\n\n'), 'data: { "id": "a" }\n\n');
    assert.equal(cut('data: {"usage" : null}\n\n'), 'data: {}\n\n');
  });

  it('leaves "usage":null inside strings and nested objects alone', () => {
    assert.equal(
      cut('data: {"text":"say \\"usage\\":null","d":{"usage":null},"usage":null}\n\n'),
      'data: {"text":"say \\"usage\\":null","d":{"usage":null}}\n\n',
    );
    assert.equal(cut('data: {"a\\"usage":null,"b":1}\n\n'), undefined);
    assert.equal(cut('data: {"usage":nullx}\n\n'), undefined);
    assert.equal(cut('data: {"usage":{"prompt_tokens":1}}\n\n'), undefined);
  });

  it('hands on each block edited, whatever the reads', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(300), { maxLength: 10 }), (splits) => {
        const frames = [
          'data: {"id":"1","choices":[{"delta":{"content":"é"}}],"usage":null}\n\n',
          ': keep-alive\n\n',
          'data: {"id":"2","choices":[],"usage":{"prompt_tokens":3}}\n\n',
          'data: [DONE]\n\n',
        ];
        const raw = bytes(frames.join(''));
        const editor = new FrameEditor('usage');
        const parser = new SseFrames();
        const out: Uint8Array[] = [];
        const onEvent = (event: SseEvent, start: number, end: number) => {
          if (event.data.includes('prompt_tokens')) editor.dropBlock(start, end);
          else if (event.data.includes('"usage":null')) editor.dropNullMember(start, end);
        };
        let at = 0;
        for (const split of [...new Set(splits)].sort((a, b) => a - b).filter((s) => s > 0 && s < raw.length)) {
          const piece = raw.slice(at, split);
          editor.append(piece);
          parser.push(piece, onEvent);
          const released = editor.release(parser.boundary);
          if (released) out.push(released);
          at = split;
        }
        const piece = raw.slice(at);
        editor.append(piece);
        parser.push(piece, onEvent);
        parser.finish(onEvent);
        const rest = editor.releaseAll();
        if (rest) out.push(rest);
        assert.equal(Buffer.concat(out).toString('utf8'), 'data: {"id":"1","choices":[{"delta":{"content":"é"}}]}\n\n: keep-alive\n\ndata: [DONE]\n\n');
      }),
      { numRuns: 200 },
    );
  });
});
