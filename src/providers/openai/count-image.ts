/**
 * Input tokens of an image, by OpenAI's published rules (platform docs, "Images and
 * vision", calculating costs):
 * - tile models (gpt-4o, gpt-4.1, gpt-5, o1/o3, …): `detail: low` is the base; otherwise the
 *   image is fitted within 2048×2048, its short side scaled down to 768, and each 512-px
 *   tile costs the tile price on top of the base;
 * - patch models (gpt-4.1-mini/nano, gpt-5-mini/nano, o4-mini): 32-px patches, at most
 *   1536, times the model's multiplier.
 * The size is read from the header of a `data:` URL (PNG, JPEG, GIF, WebP). An image given
 * by a web address or file id has no size we can see: it is estimated as 512×512 and the
 * input marked a lower bound (docs/accuracy.md).
 */
import { dataUrlImageSize } from '../../core/image-size.js';

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
/**
 * What we assume for an image whose bytes we cannot see (a web address, a file id): one
 * 512-px tile, the least a detailed image costs on the tile models. The input is then
 * marked a lower bound (`hasImageOfUnknownSize`).
 */
const UNKNOWN_SIZE = { width: 512, height: 512 };

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

/** Whether a chat `image_url` or Responses `input_image` URL is one whose size cannot be read. */
export function isImageOfUnknownSize(url: string | undefined): boolean {
  return url === undefined || dataUrlImageSize(url) === undefined;
}
