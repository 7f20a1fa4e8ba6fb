/**
 * Randomness for the emulator: a seeded generator for reproducible content, and
 * provider-shaped ids (real randomness: ids must not collide across requests).
 */

import { randomInt } from 'node:crypto';

export type Rng = () => number;

/** 32-bit FNV-1a: a stable seed from any string (the request body). */
export function hashSeed(input: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    hash ^= input.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: tiny, fast and good enough to pick words. Returns floats in [0, 1). */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [min, max] inclusive. */
export function rngInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const HEX = '0123456789abcdef';

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export const ids = {
  chatCompletion: () => `chatcmpl-${randomString(ALPHANUMERIC, 29)}`,
  legacyCompletion: () => `cmpl-${randomString(ALPHANUMERIC, 29)}`,
  toolCall: () => `call_${randomString(ALPHANUMERIC, 24)}`,
  systemFingerprint: () => `fp_${randomString(HEX, 10)}`,
  openaiRequest: () => `req_${randomString(HEX, 32)}`,
  anthropicMessage: () => `msg_01${randomString(BASE58, 22)}`,
  anthropicToolUse: () => `toolu_01${randomString(BASE58, 22)}`,
  anthropicRequest: () => `req_011C${randomString(BASE58, 20)}`,
  /** Opaque stand-in for the signature Anthropic attaches to thinking blocks. */
  thinkingSignature: () => Buffer.from(randomString(ALPHANUMERIC, 96)).toString('base64'),
};
