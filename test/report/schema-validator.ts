/**
 * A validator for schema/report.schema.json, shared by the tests that check reports against it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './fixed-report.js';

export type Schema = Record<string, unknown> | boolean;

/**
 * A validator for the subset of JSON Schema 2020-12 that schema/report.schema.json uses. It throws on
 * any other keyword, so the schema cannot silently use something this test does not check.
 */
export function validate(value: unknown, root: Record<string, unknown>): string[] {
  const annotations = new Set(['$schema', 'title', 'description', '$defs']);
  const typeOf = (item: unknown) =>
    item === null ? 'null' : Array.isArray(item) ? 'array' : Number.isInteger(item) ? 'integer' : typeof item;
  // Errors of one sub-schema alone, for anyOf, oneOf and if.
  const errorsOf = (node: Schema, item: unknown, at: string): string[] => {
    const errors: string[] = [];
    check(node, item, at, errors);
    return errors;
  };
  const check = (node: Schema, item: unknown, at: string, errors: string[]): void => {
    if (node === true) return;
    if (node === false) {
      errors.push(`${at}: not allowed`);
      return;
    }
    for (const [keyword, argument] of Object.entries(node)) {
      switch (keyword) {
        case '$ref': {
          const match = /^#\/\$defs\/([\w-]+)$/.exec(String(argument));
          const target = match ? (root.$defs as Record<string, Schema>)[match[1] ?? ''] : undefined;
          if (target === undefined) throw new Error(`unresolved $ref ${String(argument)}`);
          check(target, item, at, errors);
          break;
        }
        case 'type': {
          const types = Array.isArray(argument) ? argument : [argument];
          const actual = typeOf(item);
          if (!types.includes(actual) && !(actual === 'integer' && types.includes('number'))) errors.push(`${at}: ${actual} is not ${types.join('|')}`);
          break;
        }
        case 'const':
          if (JSON.stringify(item) !== JSON.stringify(argument)) errors.push(`${at}: not ${JSON.stringify(argument)}`);
          break;
        case 'enum':
          if (!(argument as unknown[]).some((option) => JSON.stringify(option) === JSON.stringify(item))) errors.push(`${at}: ${JSON.stringify(item)} not in enum`);
          break;
        case 'minimum':
          if (typeof item === 'number' && item < (argument as number)) errors.push(`${at}: below ${argument}`);
          break;
        case 'minLength':
          if (typeof item === 'string' && [...item].length < (argument as number)) errors.push(`${at}: shorter than ${argument}`);
          break;
        case 'pattern':
          if (typeof item === 'string' && !new RegExp(argument as string, 'u').test(item)) errors.push(`${at}: does not match ${argument}`);
          break;
        case 'required':
          if (typeOf(item) === 'object') {
            for (const name of argument as string[]) if (!Object.hasOwn(item as object, name)) errors.push(`${at}: missing ${name}`);
          }
          break;
        case 'properties':
          if (typeOf(item) === 'object') {
            for (const [name, sub] of Object.entries(argument as Record<string, Schema>)) {
              if (Object.hasOwn(item as object, name)) check(sub, (item as Record<string, unknown>)[name], `${at}/${name}`, errors);
            }
          }
          break;
        case 'additionalProperties':
          if (typeOf(item) === 'object') {
            const known = Object.keys((node.properties as object | undefined) ?? {});
            for (const name of Object.keys(item as object)) {
              if (!known.includes(name)) check(argument as Schema, (item as Record<string, unknown>)[name], `${at}/${name}`, errors);
            }
          }
          break;
        case 'items':
          if (Array.isArray(item)) item.forEach((element, index) => check(argument as Schema, element, `${at}/${index}`, errors));
          break;
        case 'anyOf':
        case 'oneOf': {
          const passing = (argument as Schema[]).filter((sub) => errorsOf(sub, item, at).length === 0).length;
          if (keyword === 'anyOf' ? passing === 0 : passing !== 1) errors.push(`${at}: ${passing} of ${keyword} match`);
          break;
        }
        case 'allOf':
          for (const sub of argument as Schema[]) check(sub, item, at, errors);
          break;
        case 'if':
          if (errorsOf(argument as Schema, item, at).length === 0) {
            if (node.then !== undefined) check(node.then as Schema, item, at, errors);
          } else if (node.else !== undefined) check(node.else as Schema, item, at, errors);
          break;
        case 'then':
        case 'else':
          break;
        default:
          if (!annotations.has(keyword)) throw new Error(`keyword ${keyword} is not supported by this test's validator`);
      }
    }
  };
  return errorsOf(root, value, '');
}

export const reportSchema = JSON.parse(readFileSync(join(repoRoot, 'schema', 'report.schema.json'), 'utf8')) as Record<string, unknown>;
