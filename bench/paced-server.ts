/**
 * The benchmark's server, in its own process: the project's emulator produces each
 * response, and this front sends a stream one SSE event per TCP write, `x-bench-pace-us`
 * microseconds apart, so that the client reads one event per network read, as it does from
 * a real provider (tens of events per second). Without pacing the client reads whatever has
 * piled up since its last read (dozens of events at once), and the SDK's per-read work
 * (buffer copies, line splitting) then depends on how slow the client is: a slower variant
 * would be charged less per event.
 *
 *   node --import tsx bench/paced-server.ts        prints `listening on http://127.0.0.1:<port>`
 *
 * Request headers: `x-bench-pace-us` (0 or absent: as fast as the socket takes it),
 * `x-bench-obfuscation: 1` (every OpenAI chat chunk ends with an `obfuscation` field, after
 * `usage`, as the real API's do: 2,167 of the 2,281 `usage: null` chunks in the dev
 * recordings; where `usage` sits decides what hiding it costs).
 * `x-bench-events: N` (a stream cut to exactly N events: its first ones and its last
 * `TAIL_EVENTS`, so it still ends as the provider ends it; ask the emulator for more
 * output than that, it sends one to three tokens per event).
 * Everything else (the emulator's `x-emulator-script`) is passed through.
 */
import { createServer, type Socket } from 'node:net';
import { resolve } from 'node:path';

interface Emulator {
  url: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startEmulator } = require(resolve(__dirname, '..', 'dist', 'cjs', 'emulator', 'index.js')) as {
  startEmulator(options?: object): Promise<Emulator>;
};

/** Blocks this thread for `us` microseconds without spinning (the server does nothing else meanwhile). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepMicros = (us: number): void => void Atomics.wait(sleeper, 0, 0, us / 1000);

/** Events kept from a stream's end when it is cut to `x-bench-events`: the finish, usage and terminal events. */
const TAIL_EVENTS = 4;

/** Events written between two turns of the event loop (which notices a client that left). */
const EVENTS_PER_TURN = 32;

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** Parses HTTP/1.1 requests from one connection (keep-alive, bodies with content-length). */
function onRequests(socket: Socket, handle: (request: Request) => Promise<void>): void {
  let buffered = Buffer.alloc(0);
  let busy = Promise.resolve();
  socket.on('data', (data: Buffer) => {
    buffered = Buffer.concat([buffered, data]);
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [line = '', ...lines] = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const header of lines) {
        const colon = header.indexOf(':');
        headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (buffered.length < end + 4 + length) return;
      const body = buffered.subarray(end + 4, end + 4 + length);
      buffered = buffered.subarray(end + 4 + length);
      const [method = 'GET', path = '/'] = line.split(' ');
      const request = { method, path, headers, body: Buffer.from(body) };
      busy = busy.then(() => handle(request)).catch(() => void socket.destroy());
    }
  });
  socket.on('error', () => undefined);
}

const OBFUSCATION = '"obfuscation":"Xq3vB0"';

async function main(): Promise<void> {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
  const cache = new Map<string, { status: number; contentType: string; frames: string[] }>();

  const upstream = async (request: Request) => {
    const key = `${request.method} ${request.path} ${request.headers['x-emulator-script'] ?? ''} ${request.body.toString()}`;
    const cached = cache.get(key);
    if (cached) return cached;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const name of ['x-emulator-script', 'anthropic-version', 'authorization', 'x-api-key']) {
      const value = request.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    const response = await fetch(emulator.url + request.path, {
      method: request.method,
      headers,
      body: request.method === 'GET' ? undefined : request.body,
    });
    const contentType = response.headers.get('content-type') ?? 'application/json';
    const text = await response.text();
    const frames = contentType.startsWith('text/event-stream') ? text.split(/(?<=\n\n)/) : [text];
    const result = { status: response.status, contentType, frames };
    if (cache.size > 64) cache.clear();
    cache.set(key, result);
    return result;
  };

  const server = createServer((socket) => {
    socket.setNoDelay(true);
    onRequests(socket, async (request) => {
      const { status, contentType, frames: all } = await upstream(request);
      const events = Number(request.headers['x-bench-events'] ?? 0);
      const frames = events > TAIL_EVENTS && all.length > events ? [...all.slice(0, events - TAIL_EVENTS), ...all.slice(-TAIL_EVENTS)] : all;
      const paceUs = Number(request.headers['x-bench-pace-us'] ?? 0);
      const obfuscate = request.headers['x-bench-obfuscation'] === '1';
      socket.write(`HTTP/1.1 ${status} OK\r\ncontent-type: ${contentType}\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n`);
      for (let i = 0; i < frames.length; i++) {
        if (socket.destroyed) return;
        let frame = frames[i]!;
        if (obfuscate && frame.includes('"chat.completion.chunk"') && frame.endsWith('}\n\n')) {
          frame = `${frame.slice(0, -3)},${OBFUSCATION}}\n\n`;
        }
        const size = Buffer.byteLength(frame);
        if (paceUs > 0 && i > 0) sleepMicros(paceUs);
        socket.write(`${size.toString(16)}\r\n${frame}\r\n`);
        // Let the loop notice a client that went away (and flush anything the kernel refused).
        if (i % EVENTS_PER_TURN === EVENTS_PER_TURN - 1) await new Promise((done) => setImmediate(done));
      }
      if (!socket.destroyed) socket.write('0\r\n\r\n');
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
