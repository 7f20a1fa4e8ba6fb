/**
 * The tokenizer worker's entry point. Building an encoder (~600 ms for o200k) and
 * counting a long prompt (tens of ms per 100k tokens) would stall the application's
 * event loop; here they only occupy this thread. Requests are answered in order.
 */
import { parentPort } from 'node:worker_threads';
import { countGuarded, loadEncoder, type Encoder, type EncodingName, type EncodingRanks } from './tokenizer-count.js';
import type { CountReply, CountRequest } from './tokenizer-protocol.js';

const encoders = new Map<EncodingName, Promise<Encoder>>();

function encoderFor(encoding: EncodingName, ranks: EncodingRanks | undefined): Promise<Encoder> {
  let encoder = encoders.get(encoding);
  if (!encoder) {
    encoder = loadEncoder(encoding, ranks);
    encoders.set(encoding, encoder);
    encoder.catch(() => encoders.delete(encoding));
  }
  return encoder;
}

async function answer(request: CountRequest): Promise<CountReply> {
  try {
    const encoder = await encoderFor(request.encoding, request.ranks);
    return { id: request.id, counts: request.texts.map((text) => countGuarded(encoder, text)) };
  } catch (error) {
    return { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
}

const port = parentPort;
if (port) port.on('message', (request: CountRequest) => void answer(request).then((reply) => port.postMessage(reply)));
