/**
 * Validates JSON against the project's JSON Schemas (every schema/*.json) with ajv, the JSON Schema
 * 2020-12 validator: each schema is compiled in strict mode, so a schema using a keyword wrongly or
 * one the draft does not define fails here rather than being silently ignored.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { repoRoot } from './golden.js';

const schemaDir = join(repoRoot, 'schema');

/**
 * Strict mode with one check off: strictRequired rejects `then: { required: [...] }` naming properties
 * defined on the enclosing object (the report schema's per-kind requirements), which the draft allows.
 */
export function createAjv(): Ajv2020 {
  return new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
}

/** Every schema under schema/, by file name, as parsed JSON. */
export const schemas: Readonly<Record<string, Record<string, unknown>>> = Object.fromEntries(
  readdirSync(schemaDir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => [name, JSON.parse(readFileSync(join(schemaDir, name), 'utf8')) as Record<string, unknown>]),
);

const ajv = createAjv();
// All schemas are added first, so one may refer to another by its $id.
for (const [name, schema] of Object.entries(schemas)) ajv.addSchema(schema, name);
const validators = new Map<string, ValidateFunction>(Object.keys(schemas).map((name) => [name, ajv.getSchema(name)!]));

/** One line per error: the JSON pointer of the value, ajv's message and what it names. */
function formatError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const extra = error.keyword === 'additionalProperties' ? ` (${String(params.additionalProperty)})` : '';
  return `${error.instancePath}: ${error.message ?? error.keyword}${extra}`;
}

/** Errors of `value` against schema/<name>, one per line; empty when it is valid. */
export function validateAgainst(name: string, value: unknown): string[] {
  const validate = validators.get(name);
  if (validate === undefined) throw new Error(`no schema/${name} (have: ${[...validators.keys()].join(', ')})`);
  return validate(value) ? [] : (validate.errors ?? []).map(formatError);
}

/** The report schema `verify --format json` follows. */
export const reportSchema = schemas['report.schema.json']!;

/** Errors of `report` against schema/report.schema.json, one per line; empty when it is valid. */
export function validateReport(report: unknown): string[] {
  return validateAgainst('report.schema.json', report);
}
