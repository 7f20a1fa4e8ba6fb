#!/usr/bin/env node
/**
 * Starts the provider emulator from the command line:
 *   node dist/cjs/emulator/cli.js [--port 8787] [--host 127.0.0.1] [--script '{"outputTokens":50}']
 * Stops cleanly on Ctrl-C / SIGTERM.
 */

import { parseArgs } from 'node:util';
import { validateScript } from './script.js';
import { startEmulator } from './server.js';
import { EMULATOR_SCRIPT_HEADER } from './types.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      script: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('Usage: otel-llm-cost-emulator [--port 8787] [--host 127.0.0.1] [--script <default script JSON>]\n');
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${values.port}`);
  const defaultScript = values.script === undefined ? {} : validateScript(JSON.parse(values.script));
  const emulator = await startEmulator({ host: values.host, port, defaultScript });
  emulator.on('requestEnd', (log) => {
    process.stdout.write(
      `#${log.id} ${log.method} ${log.path} -> ${log.status} ${log.outcome ?? ''} ` +
        `(${log.chunksSent} chunks, ${log.outputTokensSent} output tokens, ${(log.endedAt ?? 0) - log.startedAt} ms)\n`,
    );
  });
  process.stdout.write(
    `Provider emulator listening on ${emulator.url}\n` +
      `  OpenAI:    new OpenAI({ baseURL: '${emulator.openaiBaseURL}', apiKey: 'test' })\n` +
      `  Anthropic: new Anthropic({ baseURL: '${emulator.anthropicBaseURL}', apiKey: 'test' })\n` +
      `  Per-request behaviour: header ${EMULATOR_SCRIPT_HEADER}: <JSON script>\n`,
  );
  const shutdown = (): void => {
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
