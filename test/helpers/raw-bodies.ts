/** Raw HTTP bodies for byte-for-byte comparisons against the emulator. */
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * The emulator's random parts (ids, timestamps) replaced by same-length stand-ins, so two
 * answers to one request compare byte for byte: everything else it sends is a function of
 * the request.
 */
export function sameIds(text: string): string {
  return (
    text
      // The whole random part goes, whatever it starts with: an OpenAI hex id that happens to
      // begin with "01" must not read as Anthropic's "msg_01" and come out one shape or the other.
      .replace(
        /\b(chatcmpl-|cmpl-|call_|fp_|resp_|msg_|rs_|fc_|toolu_|srvtoolu_|ws_|fs_|ci_|cntr_|req_)([A-Za-z0-9]+)/g,
        (_m, prefix: string, rest: string) => prefix + 'x'.repeat(rest.length),
      )
      .replace(/"(created|created_at|openai-processing-ms)":\s?(\d+)/g, (_m, key: string, digits: string) => `"${key}":${'0'.repeat(digits.length)}`)
      .replace(/("signature":")[A-Za-z0-9+/=]+"/g, '$1…"')
  );
}

/** Reads a web body to its end, one `read()` at a time, as a client does. */
export async function readBytes(body: ReadableStream<Uint8Array> | null): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return Buffer.concat(parts);
}

export async function readText(body: ReadableStream<Uint8Array> | null): Promise<string> {
  return (await readBytes(body)).toString('utf8');
}

/** Waits a few turns of the event loop (loopback data written by the in-process emulator arrives within them). */
export async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await nextTurn();
}
