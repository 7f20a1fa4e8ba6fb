/**
 * Loads the recorded provider exchanges in test/fixtures/recordings.jsonl by a short,
 * stable name (see test/fixtures/README.md for what each one is and where it is from).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProviderEmulator, Recording } from '../../src/emulator/index.js';

/** Fixture name → the provider's response id, which identifies the record. */
const FIXTURE_IDS = {
  'openai-chat-stream-text': 'chatcmpl-D3qbonSDc7ANQWuUbKZZyWeGrrvWg',
  'openai-chat-stream-tool-calls': 'chatcmpl-D3qbmX992IJqA0OczJ38Z1F7fk081',
  'openai-chat-stream-length': 'chatcmpl-CoDWtmOB2DZI2l0bK84UVJEMpo63W',
  'openai-chat-nonstream': 'chatcmpl-D29jfew2c3NX5bI987KS2kgyS3kcl',
  'anthropic-stream-text': 'msg_0178nRhNdfNKxFcZRFqApVgL',
  'anthropic-stream-max-tokens': 'msg_01LTTzf5C28Hqpfdov9tQKXs',
  'anthropic-stream-tool-use': 'msg_01Stq1fKtevWmBQZTnfyKzJo',
  'anthropic-stream-thinking': 'msg_011DUxDkt4gKsVNAkhe7s2kj',
  'anthropic-stream-thinking-summarized': 'msg_01PCYDsChHJn849cJNGqDW1W',
  'anthropic-stream-cache-read': 'msg_01XQRA3bs4SB4yTBMwD3dbUi',
  'anthropic-stream-cache-write': 'msg_017FfRkh9PCC8YbjnhDMrPuK',
  'anthropic-nonstream': 'msg_01N6YL3m3ZQJBsxSeK19M9BJ',
  'openai-responses-stream-text': 'resp_0f62205e7cf7668900691f28eafd248197a4ca4d562119f3c5',
  'openai-responses-stream-reasoning': 'resp_01fd0b7495b7d233006977ce7ed5c8819c9dda0935e0b7252c',
  'openai-responses-nonstream': 'resp_0175bd1a62129c3700697d43d339888190a0b7bddd3812cb65',
} as const;

export type FixtureName = keyof typeof FIXTURE_IDS;

/** The fields tests read besides the emulator's `Recording` ones (see the fixtures README). */
export interface FixtureRecord extends Recording {
  response_id: string;
  model: string;
  response_model: string;
  output_text: string;
  output_types?: string[];
  finish_reason: string;
  usage_summary: {
    input: number;
    output: number;
    total: number | null;
    reasoning: number | null;
    cached: number;
    cache_write?: number;
  };
}

export const FIXTURE_NAMES = Object.keys(FIXTURE_IDS) as FixtureName[];

let byResponseId: Map<string, FixtureRecord> | undefined;

function records(): Map<string, FixtureRecord> {
  if (!byResponseId) {
    const file = join(__dirname, '..', 'fixtures', 'recordings.jsonl');
    byResponseId = new Map();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const record = JSON.parse(line) as FixtureRecord;
      byResponseId.set(record.response_id, record);
    }
  }
  return byResponseId;
}

/** A fresh copy of one fixture record (safe to mutate). */
export function loadFixture(name: FixtureName): FixtureRecord {
  const record = records().get(FIXTURE_IDS[name]);
  if (!record) throw new Error(`fixture ${name} (${FIXTURE_IDS[name]}) missing from recordings.jsonl`);
  return structuredClone(record);
}

/** Registers every fixture with the emulator under its name, for `{ replay: name }` scripts. */
export function registerFixtures(emulator: ProviderEmulator): void {
  for (const name of FIXTURE_NAMES) emulator.addRecording(name, loadFixture(name));
}
