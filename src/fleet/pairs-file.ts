/**
 * The pairs file of a fleet (`verify --pairs FILE`): YAML, or JSON for a `.json` file, a list of
 * `{name, a, b?, platform?, policy?, expect?}` checked against schema/pairs.schema.json. A malformed
 * file is a usage error (exit 2) naming the file and the entry, as a malformed policy file is; a file
 * that cannot be read is exit 4.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { usageError, withContext } from '../errors.js';
import { parsePlatform } from '../sources/index.js';

export interface FleetPair {
  /** Position in the file, from 0. */
  index: number;
  name: string;
  a: string;
  b?: string;
  platform?: string;
  policy?: string;
  expect?: string;
}

export interface PairsFile {
  path: string;
  /** sha256 of the file's bytes: shards of one fleet must have read the same file. */
  digest: string;
  pairs: FleetPair[];
}

let validator: ValidateFunction | undefined;

/** Compiled once, on first use: the schema ships in the package's schema/ folder. */
function pairsValidator(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(new URL('../../schema/pairs.schema.json', import.meta.url), 'utf8')) as object;
  validator = new Ajv2020({ strict: true, allErrors: false }).compile(schema);
  return validator;
}

/** Reads and checks a pairs file: exit 4 when it cannot be read, exit 2 when it is malformed. */
export async function loadPairsFile(path: string): Promise<PairsFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw withContext(`reading pairs ${path}`, error);
  }
  return { path, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, pairs: parsePairs(bytes.toString('utf8'), path) };
}

/** Parses pairs text; `.json` files as JSON, anything else as YAML (which also reads JSON). */
export function parsePairs(text: string, source: string): FleetPair[] {
  const json = extname(source).toLowerCase() === '.json';
  let value: unknown;
  try {
    value = json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw usageError(`pairs ${source}: not valid ${json ? 'JSON' : 'YAML'}: ${message}`, { cause: error });
  }
  const validate = pairsValidator();
  if (!validate(value)) throw usageError(`pairs ${source}: ${describeSchemaError(validate.errors![0]!, value)}`, { hint: pairsHint });
  const pairs = (value as Omit<FleetPair, 'index'>[]).map((pair, index) => ({ index, ...pair }));
  const seen = new Map<string, number>();
  for (const pair of pairs) {
    const where = `pairs ${source}: ${entryName(pair.index, pair.name)}`;
    const first = seen.get(pair.name);
    if (first !== undefined) throw usageError(`${where}: the name is also entry ${first}'s; names must be unique`, { hint: pairsHint });
    seen.set(pair.name, pair.index);
    if (pair.b === undefined && pair.expect === undefined) throw usageError(`${where}: needs b (the second build) or expect (a canonical digest)`, { hint: pairsHint });
    if (pair.b !== undefined && pair.expect !== undefined) throw usageError(`${where}: give either b or expect, not both`, { hint: pairsHint });
    if (pair.platform !== undefined) {
      try {
        parsePlatform(pair.platform);
      } catch {
        throw usageError(`${where}: platform ${JSON.stringify(pair.platform)} is not os/arch[/variant]`, { hint: 'for example linux/amd64 or linux/arm/v7' });
      }
    }
  }
  return pairs;
}

const pairsHint = 'a pairs file is a list of {name, a, b, platform?, policy?, expect?} (schema/pairs.schema.json)';

function entryName(index: number, name: unknown): string {
  return typeof name === 'string' ? `entry ${index} (${JSON.stringify(name)})` : `entry ${index}`;
}

/** One schema error in words, naming the entry (by position and name) and the field. */
function describeSchemaError(error: ErrorObject, value: unknown): string {
  const [, index, field] = error.instancePath.split('/');
  if (index === undefined) return error.keyword === 'type' ? 'expected a list of pairs' : (error.message ?? error.keyword);
  const entry = Array.isArray(value) ? (value[Number(index)] as Record<string, unknown> | null) : null;
  const where = entryName(Number(index), entry && typeof entry === 'object' ? entry.name : undefined);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${where}: missing ${String(params.missingProperty)}`;
    case 'additionalProperties':
      return `${where}: unknown field ${JSON.stringify(params.additionalProperty)}`;
    case 'type':
      return `${where}${field ? `: ${field}` : ''}: must be ${field ? 'a' : 'an'} ${String(params.type) === 'object' ? 'object (a mapping)' : String(params.type)}`;
    case 'minLength':
      return `${where}: ${field} is empty`;
    case 'pattern':
      return `${where}: ${field} has control characters`;
    default:
      return `${where}${field ? `: ${field}` : ''}: ${error.message ?? error.keyword}`;
  }
}
