/**
 * `priceUpdates`: fetches genai-prices' published data file at start and every N hours, so
 * a model released after this package is priced without a release. Nothing waits for it:
 * requests are priced with whatever data is current (the bundled data until a fetch
 * succeeds). A failed fetch keeps the last good data and writes one `diag` line. With
 * `cacheFile`, the last good data is kept on disk and used from the start of the next run.
 *
 * The timer is unref'd (it never keeps a process alive) and `stop()` clears it and aborts
 * a fetch in flight.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { calcPrice, REMOTE_DATA_JSON_URL, type Provider } from '@pydantic/genai-prices';
import { logWarning } from '../core/safely.js';

export interface PriceUpdateOptions {
  /** The data file (genai-prices' format). Default: genai-prices' own published file. */
  url?: string;
  /** Hours between fetches after the first. Default 24. */
  intervalHours?: number;
  /** Where to keep the last good data, so a restart without network still has it. */
  cacheFile?: string;
}

export const DEFAULT_PRICE_DATA_URL = REMOTE_DATA_JSON_URL;
export const DEFAULT_INTERVAL_HOURS = 24;
/** setTimeout fires at once above 2^31-1 ms: about 596 hours. */
export const MAX_INTERVAL_HOURS = Math.floor((2 ** 31 - 1) / 3_600_000);
/** A fetch that has not finished by then is abandoned (a stuck server must not hold a socket forever). */
const FETCH_TIMEOUT_MS = 60_000;
/** The published file is about 0.5 MB; a much larger answer is not price data. */
const MAX_DATA_BYTES = 32 * 1024 * 1024;

/** Where fetched data goes: the catalog of the instrumentation that asked for it. */
export interface PriceDataSink {
  install(providers: readonly Provider[], label: string): void;
  readonly dataLabel: string;
}

/** The cache file's content: the data and when it was fetched. */
interface CachedData {
  fetchedAt: string;
  url: string;
  providers: unknown;
}

export class PriceUpdates {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  private stopped = false;
  /** Settles when the current round (cache file, then fetch) is over: for tests and `flush`. */
  current: Promise<void> = Promise.resolve();

  constructor(
    private readonly sink: PriceDataSink,
    readonly options: Readonly<PriceUpdateOptions>,
    /** Where the one line per failure goes (default: `diag`, namespace otel-llm-cost). */
    private readonly warn: (message: string) => void = logWarning,
  ) {}

  get url(): string {
    return this.options.url ?? DEFAULT_PRICE_DATA_URL;
  }

  start(): void {
    this.stopped = false;
    this.current = this.loadCacheFile().then(() => this.fetchOnce());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    const hours = this.options.intervalHours ?? DEFAULT_INTERVAL_HOURS;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.current = this.fetchOnce();
    }, hours * 3_600_000);
    this.timer.unref();
  }

  private async loadCacheFile(): Promise<void> {
    const file = this.options.cacheFile;
    if (!file) return;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      // No file yet is the normal first run.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.warn(`price data cache file ${file} could not be read (${describe(error)}); fetching instead`);
      return;
    }
    try {
      const cached = JSON.parse(text) as Partial<CachedData>;
      const fetchedAt = typeof cached.fetchedAt === 'string' && !Number.isNaN(Date.parse(cached.fetchedAt)) ? cached.fetchedAt : undefined;
      if (!fetchedAt) throw new Error('no fetchedAt date');
      const providers = await checkPriceData(cached.providers);
      if (!this.stopped) this.sink.install(providers, `fetched ${fetchedAt}`);
    } catch (error) {
      this.warn(`price data cache file ${file} is not usable (${describe(error)}); fetching instead`);
    }
  }

  private async fetchOnce(): Promise<void> {
    if (this.stopped) return;
    const controller = new AbortController();
    this.inFlight = controller;
    const timeout = setTimeout(() => controller.abort(new Error(`no answer within ${FETCH_TIMEOUT_MS / 1000} s`)), FETCH_TIMEOUT_MS);
    timeout.unref();
    try {
      const raw = await download(this.url, controller.signal);
      // JSON.parse of the 0.5 MB file: about 4 ms, once per interval; the checks yield between providers.
      const providers = await checkPriceData(JSON.parse(raw));
      if (this.stopped) return;
      const fetchedAt = new Date().toISOString();
      this.sink.install(providers, `fetched ${fetchedAt}`);
      await this.writeCacheFile({ fetchedAt, url: this.url, providers });
    } catch (error) {
      if (!this.stopped) this.warn(`price data update from ${this.url} failed (${describe(error)}); still pricing with ${this.sink.dataLabel}`);
    } finally {
      clearTimeout(timeout);
      if (this.inFlight === controller) this.inFlight = undefined;
      this.schedule();
    }
  }

  private async writeCacheFile(data: CachedData): Promise<void> {
    const file = this.options.cacheFile;
    if (!file) return;
    // Written aside and renamed: a reader (or a crash) never sees half a file.
    const partial = `${file}.${process.pid}.tmp`;
    try {
      await writeFile(partial, JSON.stringify(data));
      await rename(partial, file);
    } catch (error) {
      this.warn(`price data cache file ${file} could not be written (${describe(error)})`);
    }
  }
}

/**
 * GETs `url` (following a few redirects) through node:http(s), whose socket is unref'd:
 * an update in flight never keeps the process alive, even against a server that never answers.
 */
function download(url: string, signal: AbortSignal, redirects = 3): Promise<string> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new Error(`not a URL: ${url}`));
      return;
    }
    const get = target.protocol === 'https:' ? httpsGet : target.protocol === 'http:' ? httpGet : undefined;
    if (!get) {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    const request = get(target, { signal, headers: { accept: 'application/json' } }, (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location && redirects > 0) {
        response.resume();
        download(new URL(location, target).href, signal, redirects - 1).then(resolve, reject);
        return;
      }
      if (status < 200 || status >= 300) {
        response.resume();
        reject(new Error(`HTTP ${status}`));
        return;
      }
      const declared = Number(response.headers['content-length']);
      if (declared > MAX_DATA_BYTES) {
        response.destroy();
        reject(new Error(`${declared} bytes is more than price data can be`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_DATA_BYTES) {
          response.destroy(new Error(`more than ${MAX_DATA_BYTES} bytes is more than price data can be`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    request.on('socket', (socket) => socket.unref());
    request.on('error', reject);
  });
}

/**
 * Accepts genai-prices' data format only: a list of providers with ids and models, each of
 * which genai-prices itself can read (its own checks run once here, not on a request). The
 * event loop gets a turn between providers: reading all 43 providers' 1,300 models at once
 * took 1.4–28 ms here (loaded 2-core machine), of which the largest provider takes most.
 */
export async function checkPriceData(data: unknown): Promise<Provider[]> {
  if (!Array.isArray(data) || data.length === 0) throw new Error('not a list of providers');
  for (const [index, provider] of data.entries()) {
    const p = provider as Partial<Provider> | null;
    if (typeof p !== 'object' || p === null || typeof p.id !== 'string' || !Array.isArray(p.models)) {
      throw new Error(`provider #${index} has no id or models`);
    }
    for (const model of p.models) {
      const m = model as Partial<Provider['models'][number]> | null;
      if (typeof m !== 'object' || m === null || typeof m.id !== 'string' || typeof m.match !== 'object' || typeof m.prices !== 'object') {
        throw new Error(`provider ${p.id}: a model without id, match or prices`);
      }
    }
    // Runs genai-prices' own reading of the provider (price constraints) on a name no model has.
    calcPrice({ input_tokens: 0, output_tokens: 0 }, '\u0000otel-llm-cost-check', { provider: p as Provider });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return data as Provider[];
}

function describe(value: unknown): string {
  if (value instanceof Error) {
    const cause = (value as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== value.message ? `${value.message}: ${cause.message}` : value.message;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** Checks the `priceUpdates` option when the instrumentation is built; throws naming the field. */
