// The JSON Schema (draft-07) keywords deploy/helm/berth/values.schema.json uses, checked as helm
// checks them on install and template. Neither helm nor a schema library is installed here (helm
// is no Debian package); a keyword outside this list fails the test rather than being ignored.
type Schema = Record<string, unknown>;

const IGNORED = new Set(['$schema', 'title', 'description']);
const CHECKED = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const',
  'pattern', 'minimum', 'maximum', 'minItems', 'minLength', 'if', 'then']);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Every violation, as "path: message" ("" when valid). */
export function validate(schema: Schema, value: unknown, path = 'values'): string[] {
  const problems: string[] = [];
  for (const keyword of Object.keys(schema)) {
    if (!IGNORED.has(keyword) && !CHECKED.has(keyword)) throw new Error(`${path}: schema keyword "${keyword}" is not supported by this checker`);
  }
  const type = schema.type as string | undefined;
  const actual = typeOf(value);
  if (type && !(type === actual || (type === 'number' && actual === 'integer'))) return [`${path}: must be ${type}, is ${actual}`];
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) problems.push(`${path}: must be one of ${(schema.enum as unknown[]).join(', ')}`);
  if ('const' in schema && schema.const !== value) problems.push(`${path}: must be ${JSON.stringify(schema.const)}`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern as string, 'u').test(value)) problems.push(`${path}: "${value}" does not match ${schema.pattern as string}`);
    if (schema.minLength !== undefined && value.length < (schema.minLength as number)) problems.push(`${path}: shorter than ${schema.minLength as number}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < (schema.minimum as number)) problems.push(`${path}: below ${schema.minimum as number}`);
    if (schema.maximum !== undefined && value > (schema.maximum as number)) problems.push(`${path}: above ${schema.maximum as number}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < (schema.minItems as number)) problems.push(`${path}: needs at least ${schema.minItems as number} item(s)`);
    if (schema.items) value.forEach((item, i) => problems.push(...validate(schema.items as Schema, item, `${path}[${i}]`)));
  }
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in object)) problems.push(`${path}.${key}: required`);
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [key, item] of Object.entries(object)) {
      if (properties[key]) problems.push(...validate(properties[key], item, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}.${key}: unknown key`);
      else if (typeof schema.additionalProperties === 'object') problems.push(...validate(schema.additionalProperties as Schema, item, `${path}.${key}`));
    }
  }
  if (schema.if && validate(schema.if as Schema, value, path).length === 0 && schema.then) problems.push(...validate(schema.then as Schema, value, path));
  return problems;
}
