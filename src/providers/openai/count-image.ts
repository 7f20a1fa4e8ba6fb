/**
 * Input tokens of an image, by OpenAI's published rules (platform docs, "Images and
 * vision", calculating costs):
 * - tile models (gpt-4o, gpt-4.1, gpt-5, o1/o3, …): `detail: low` is the base; otherwise the
 *   image is fitted within 2048×2048, its short side scaled down to 768, and each 512-px
 *   tile costs the tile price on top of the base;
 * - patch models (gpt-4.1-mini/nano, gpt-5-mini/nano, o4-mini): 32-px patches, at most
 *   1536, times the model's multiplier.
 * The size is read from the header of a `data:` URL (PNG, JPEG, GIF, WebP). An image given
 * by a web address has no size we can see: it is estimated as 1024×1024 (docs/accuracy.md).
 */

interface TileRule {
  readonly kind: 'tile';
  readonly base: number;
  readonly tile: number;
}
interface PatchRule {
  readonly kind: 'patch';
  readonly multiplier: number;
}
type ImageRule = TileRule | PatchRule;

const PATCH_LIMIT = 1536;
/** What we assume for an image whose bytes we cannot see. */
const UNKNOWN_SIZE = { width: 1024, height: 1024 };

function ruleFor(model: string | undefined): ImageRule {
  const id = (model ?? '').toLowerCase();
  if (/^(gpt-4\.1-mini|gpt-5-mini)/.test(id)) return { kind: 'patch', multiplier: 1.62 };
  if (/^(gpt-4\.1-nano|gpt-5-nano)/.test(id)) return { kind: 'patch', multiplier: 2.46 };
  if (id.startsWith('o4-mini')) return { kind: 'patch', multiplier: 1.72 };
  if (id.startsWith('gpt-4o-mini')) return { kind: 'tile', base: 2833, tile: 5667 };
  if (id.startsWith('gpt-5')) return { kind: 'tile', base: 70, tile: 140 };
  if (/^o[13]/.test(id)) return { kind: 'tile', base: 75, tile: 150 };
  if (id.startsWith('computer-use')) return { kind: 'tile', base: 65, tile: 129 };
  return { kind: 'tile', base: 85, tile: 170 };
}

export function imageTokens(model: string | undefined, url: string | undefined, detail: string | undefined): number {
  const rule = ruleFor(model);
  const size = (url && dataUrlImageSize(url)) || UNKNOWN_SIZE;
  if (rule.kind === 'patch') return patchTokens(size.width, size.height, rule.multiplier);
  if (detail === 'low') return rule.base;
  return rule.base + rule.tile * tileCount(size.width, size.height);
}

function tileCount(width: number, height: number): number {
  let w = width;
  let h = height;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shrink = Math.min(1, 768 / Math.min(w, h));
  w *= shrink;
  h *= shrink;
  return Math.ceil(w / 512) * Math.ceil(h / 512);
}

function patchTokens(width: number, height: number, multiplier: number): number {
  let patches = Math.ceil(width / 32) * Math.ceil(height / 32);
  if (patches > PATCH_LIMIT) {
    const scale = Math.sqrt((32 * 32 * PATCH_LIMIT) / (width * height));
    const w = width * scale;
    const h = height * scale;
    // Scaled again so a whole number of patches fits the width.
    const fit = Math.floor(w / 32) / (w / 32);
    patches = Math.ceil((w * fit) / 32) * Math.ceil((h * fit) / 32);
  }
  return Math.round(Math.min(patches, PATCH_LIMIT) * multiplier);
}

/** Width and height from the header of a base64 `data:` URL, when the format is one we know. */
export function dataUrlImageSize(url: string): { width: number; height: number } | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma < 0 || !url.slice(0, comma).includes(';base64')) return undefined;
  // JPEG size markers can sit after large metadata blocks; 256 KiB of header is plenty.
  const bytes = Buffer.from(url.slice(comma + 1, comma + 1 + 349_528), 'base64');
  return pngSize(bytes) ?? gifSize(bytes) ?? webpSize(bytes) ?? jpegSize(bytes);
}

function pngSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 24 || b.readUInt32BE(0) !== 0x89504e47) return undefined;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

function gifSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 10 || b.toString('latin1', 0, 3) !== 'GIF') return undefined;
  return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
}

function webpSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 30 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WEBP') return undefined;
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8 ') return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = b.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
  return undefined;
}

function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let offset = 2;
  while (offset + 9 < b.length) {
    if (b[offset] !== 0xff) return undefined;
    const marker = b[offset + 1] as number;
    // Start-of-frame markers carry the size (C0–CF except DHT C4, JPG C8, DAC CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { width: b.readUInt16BE(offset + 7), height: b.readUInt16BE(offset + 5) };
    }
    offset += 2 + b.readUInt16BE(offset + 2);
  }
  return undefined;
}
