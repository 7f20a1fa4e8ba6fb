/**
 * The text OpenAI's models see for function definitions and structured-output schemas.
 * The API renders tools into the system prompt as a TypeScript-like `namespace functions`
 * block, so counting that rendering follows nested objects, arrays, enums and optional
 * fields far better than per-property constants do; the constants left over (the header
 * and the wrapper) were fitted on the dev recordings (docs/accuracy.md).
 */
import type { TokenCounter } from '../../core/tokenizer.js';
import { asArray, asDict, asString, type Dict } from '../../core/values.js';

/**
 * Around the rendered `namespace functions` block: the tools header and wrapper tokens. Fitted
 * on the dev recordings' chat tool requests (median residual 8 on gpt-4o-class models, 9 on gpt-3.5/4).
 */
const TOOLS_OVERHEAD = 8;
const LEGACY_TOOLS_OVERHEAD = 9;
/** The rendered schema header is a few tokens longer than what the model sees (fitted: median −5). */
const SCHEMA_ADJUSTMENT = -5;
/**
 * Beside tools, the schema costs less again (least squares on the dev recordings' tool
 * requests: −16 chat, −18 Responses).
 */
const SCHEMA_BESIDE_TOOLS_ADJUSTMENT = -17;
/** Responses reads the same schema in fewer tokens than chat (its 28 dev schema requests: −5 to −13 with the chat rule alone, median −7). */
const RESPONSES_SCHEMA_ADJUSTMENT = -6;
/**
 * `tool_choice` naming one function, or `required`, adds an instruction to the prompt
 * (least squares on the dev recordings' tool requests; chat and Responses word it differently).
 */
const NAMED_TOOL_CHOICE = { chat: 19, responses: 15 } as const;
const REQUIRED_TOOL_CHOICE = 5;

/** Function definitions as the model sees them; 0 when there are none. */
export function countFunctions(functions: readonly Dict[], counter: TokenCounter, model: string | undefined): number {
  if (functions.length === 0) return 0;
  const legacy = /^gpt-(3\.5|4(?!o|\.))/.test(model ?? '');
  return counter.count(renderFunctions(functions)) + (legacy ? LEGACY_TOOLS_OVERHEAD : TOOLS_OVERHEAD);
}

/** A structured-output schema as the model sees it; 0 for plain text or `json_object`. */
export function countSchemaFormat(format: unknown, counter: TokenCounter, besideTools: boolean, api: 'chat' | 'responses'): number {
  const schema = renderSchemaFormat(format);
  if (schema === '') return 0;
  const adjustment =
    SCHEMA_ADJUSTMENT + (besideTools ? SCHEMA_BESIDE_TOOLS_ADJUSTMENT : 0) + (api === 'responses' ? RESPONSES_SCHEMA_ADJUSTMENT : 0);
  return Math.max(0, counter.count(schema) + adjustment);
}

/** The instruction a forcing `tool_choice` adds: a named function (chat `{type, function}`, Responses `{type, name}`) or `required`. */
export function countToolChoice(choice: unknown, api: 'chat' | 'responses'): number {
  if (choice === 'required') return REQUIRED_TOOL_CHOICE;
  return asDict(choice)?.type === 'function' ? NAMED_TOOL_CHOICE[api] : 0;
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
  return `# Response Formats\n\n## ${asString(wrapper.name) ?? 'response'}\n\n${header}${JSON.stringify(body)}`;
}
