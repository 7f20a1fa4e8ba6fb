/**
 * The text OpenAI's models see for function definitions and structured-output schemas.
 * The API renders tools into the system prompt as a TypeScript-like `namespace functions`
 * block, so counting that rendering follows nested objects, arrays, enums and optional
 * fields far better than per-property constants do; the constants left over (the header
 * and the wrapper) were fitted on the dev recordings (docs/accuracy.md).
 *
 * JSON-schema `title`s are part of what the model reads: a title costs its own tokens and
 * about two more, in every source that sends them (Pydantic-made schemas carry one on the
 * parameters object and one per property). Counting each as a comment line took the
 * Responses tool prompts of four sources from residuals of 2 to 12 tokens (growing with
 * the titles) to 2 to 4, and chat ones likewise (docs/accuracy.md).
 */
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, type Dict } from '../../core/values.js';
import type { OpenAIConstants } from './constants.js';
import { openaiEncoding } from './encoding.js';

/**
 * Function definitions as the model sees them; 0 when there are none. Around the
 * rendered block: the tools header and wrapper (fitted, constants.ts), which the
 * cl100k models (gpt-3.5, gpt-4) word differently.
 */
export function countFunctions(functions: readonly Dict[], counter: TokenCounter, model: string | undefined, k: OpenAIConstants): number {
  if (functions.length === 0) return 0;
  const wrapper = openaiEncoding(model) === 'cl100k_base' ? k['openai.input.tools.cl100k'] : k['openai.input.tools'];
  return counter.count(renderFunctions(functions)) + wrapper;
}

/**
 * A structured-output schema as the model sees it; 0 for plain text or `json_object`. The
 * rendered header differs from what the model reads by a fitted amount, smaller again
 * beside tools and in Responses (constants.ts).
 */
export function countSchemaFormat(format: unknown, counter: TokenCounter, besideTools: boolean, api: 'chat' | 'responses', k: OpenAIConstants): number {
  const schema = renderSchemaFormat(format);
  if (schema === '') return 0;
  const adjustment =
    k['openai.input.schema'] + (besideTools ? k['openai.input.schema.beside_tools'] : 0) + (api === 'responses' ? k['openai.input.schema.responses'] : 0);
  return Math.max(0, counter.count(schema) + adjustment);
}

/** The instruction a forcing `tool_choice` adds: a named function (chat `{type, function}`, Responses `{type, name}`) or `required`. */
export function countToolChoice(choice: unknown, api: 'chat' | 'responses', k: OpenAIConstants): number {
  if (choice === 'required') return k['openai.input.tool_choice.required'];
  if (asDict(choice)?.type !== 'function') return 0;
  return api === 'chat' ? k['openai.input.tool_choice.named'] : k['openai.input.tool_choice.named.responses'];
}

/** gpt-5 and o-series models read prompts in a newer chat format (see the counting modules). */
export const isReasoningFormat = (model: string | undefined): boolean => /^(gpt-5|o[1-9])/.test(model ?? '');

/** `namespace functions { … }` for a list of function definitions (`name`, `description`, `parameters`). */
export function renderFunctions(functions: readonly Dict[]): string {
  const lines = ['namespace functions {', ''];
  for (const fn of functions) {
    const description = asString(fn.description);
    // A multi-line description keeps its line breaks without repeating the comment marker.
    if (description) lines.push(`// ${description}`);
    const parameters = asDict(fn.parameters);
    const title = asString(parameters?.title);
    if (title) lines.push(`// ${title}`);
    const properties = asDict(parameters?.properties);
    if (properties && Object.keys(properties).length > 0) {
      lines.push(`type ${asString(fn.name) ?? ''} = (_: {`);
      const defs = asDict(parameters?.$defs) ?? asDict(parameters?.definitions) ?? {};
      lines.push(...renderProperties(properties, asArray(parameters?.required), '', defs));
      lines.push('}) => any;', '');
    } else lines.push(`type ${asString(fn.name) ?? ''} = () => any;`, '');
  }
  lines.push('} // namespace functions');
  return lines.join('\n');
}

function renderProperties(properties: Dict, required: readonly unknown[], indent: string, defs: Dict, depth = 0): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(properties)) {
    const prop = resolveRef(asDict(value) ?? {}, defs);
    const description = asString(prop.description);
    const title = asString(prop.title);
    if (title) lines.push(`${indent}// ${title}`);
    if (description) lines.push(`${indent}// ${description}`);
    const optional = required.includes(key) ? '' : '?';
    const fallback = prop.default === undefined ? '' : ` // default: ${typeof prop.default === 'string' ? prop.default : JSON.stringify(prop.default)}`;
    lines.push(`${indent}${key}${optional}: ${renderType(prop, indent, defs, depth)},${fallback}`);
  }
  return lines;
}

/** A `$ref` to the schema's own `$defs`, replaced by the definition it names. */
function resolveRef(schema: Dict, defs: Dict): Dict {
  const ref = asString(schema.$ref);
  if (!ref) return schema;
  const name = ref.split('/').pop() ?? '';
  return asDict(defs[name]) ?? schema;
}

function renderType(raw: Dict, indent: string, defs: Dict, depth: number): string {
  if (depth > 8) return 'any';
  const schema = resolveRef(raw, defs);
  const enumValues = asArray(schema.enum);
  if (enumValues.length > 0) return enumValues.map((v) => JSON.stringify(v)).join(' | ');
  const variants = asArray(schema.anyOf ?? schema.oneOf);
  if (variants.length > 0) return variants.map((v) => renderType(asDict(v) ?? {}, indent, defs, depth + 1)).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.map(String) : [asString(schema.type) ?? 'any'];
  return type
    .map((t) => {
      if (t === 'integer' || t === 'number') return 'number';
      if (t === 'array') return `${renderType(asDict(schema.items) ?? {}, indent, defs, depth + 1)}[]`;
      if (t === 'object') {
        const properties = asDict(schema.properties);
        if (!properties) return 'object';
        const inner = renderProperties(properties, asArray(schema.required), `${indent}  `, defs, depth + 1);
        return `{\n${inner.join('\n')}\n${indent}}`;
      }
      return t;
    })
    .join(' | ');
}

/** A `response_format` (chat) or `text.format` (Responses): its name and JSON schema as sent. */
export function renderSchemaFormat(format: unknown): string {
  const f = asDict(format);
  if (!f) return '';
  const wrapper = asDict(f.json_schema) ?? f;
  const schema = asDict(wrapper.schema);
  if (schema === undefined) return '';
  // A description given both beside the schema and in it is counted once, a `$schema` draft
  // URL not at all: counting them put the dev records that have them 28 and 25 tokens over.
  const { $schema: _draft, ...body } = schema;
  const description = asString(wrapper.description);
  const header = description && description !== asString(schema.description) ? `// ${description}\n` : '';
  return `# Response Formats\n\n## ${asString(wrapper.name) ?? 'response'}\n\n${header}${JSON.stringify(body, withoutClosedObjects)}`;
}

/**
 * `additionalProperties: false` is left out: strict schemas must have it on every object,
 * so it tells the model nothing (the residual of the 35 dev schema requests without tools
 * spreads over 17 tokens without it, 26 with it, in every source).
 */
function withoutClosedObjects(key: string, value: unknown): unknown {
  return key === 'additionalProperties' && value === false ? undefined : value;
}
