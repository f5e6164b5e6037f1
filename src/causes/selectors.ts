/**
 * The one selector language of cause entries (built-in catalogue and policy `causes:`) and policy
 * `accept:` entries. A selector's fields all must hold; within a list field any item may match; a
 * field about something the difference lacks (a path on a config field) fails.
 */
import type { DifferenceKind, FileAttribute } from '../diff/model.js';
import { checkGlob } from './glob.js';
import { predicateNames } from './predicates.js';

export interface Selector {
  /** Difference kinds (`file-attribute`, `config-field`, ...). */
  kinds?: DifferenceKind[];
  /** The attribute of a `file-attribute` difference (`mtime`, `mode`, `pax`, ...). */
  attributes?: FileAttribute[];
  /** The xattr or pax key, exactly. */
  keys?: string[];
  /** Globs on the file path inside a layer or the flattened filesystem (see glob.ts). */
  paths?: string[];
  /** Globs on the JSON pointer of a config or manifest difference: `/history/*\/created`. */
  pointers?: string[];
  /** Both values are strings matching this regular expression (anchored by the pattern itself). */
  values?: string;
  /** A mode difference whose two modes differ only in these bits (other numbers are not bit fields). */
  modeBits?: number;
  /** A named predicate for what data cannot say (predicates.ts). */
  predicate?: string;
  /** The cause already named (policy `accept:` entries only). */
  causes?: string[];
}

// Runtime lists of the model's closed sets; a Record keyed by the type fails to compile if one is missing.
const kindSet: Record<DifferenceKind, true> = {
  'config-field': true,
  'manifest-field': true,
  'layer-count': true,
  'layer-compression': true,
  'layer-tar': true,
  'entry-order': true,
  'tar-dialect': true,
  'file-added': true,
  'file-removed': true,
  'file-attribute': true,
};
export const differenceKinds = Object.keys(kindSet) as DifferenceKind[];

const attributeSet: Record<FileAttribute, true> = {
  type: true,
  content: true,
  size: true,
  mode: true,
  uid: true,
  gid: true,
  uname: true,
  gname: true,
  mtime: true,
  atime: true,
  ctime: true,
  linkname: true,
  xattr: true,
  device: true,
  pax: true,
};
export const fileAttributes = Object.keys(attributeSet) as FileAttribute[];

/** A selector that cannot be used: `field` is its place (`accept[0].paths[1]`). */
export class SelectorError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly hint?: string,
  ) {
    super(`${field}${field ? ': ' : ''}${problem}`);
  }
}

const listFields = ['kinds', 'attributes', 'keys', 'paths', 'pointers', 'causes'] as const;
export const selectorFields = [...listFields, 'values', 'modeBits', 'predicate'] as const;

export interface SelectorContext {
  /** Cause ids a `causes` field may name; without it the field is refused (cause entries cannot use it). */
  knownCauses?: ReadonlySet<string>;
  /** Other fields the caller reads itself (`reason`), skipped here. */
  otherFields?: readonly string[];
}

/** Checks a parsed selector (a mapping), naming the field of the first problem; returns a clean copy. */
export function parseSelector(raw: unknown, at: string, context: SelectorContext = {}): Selector {
  const fields: readonly string[] = context.knownCauses ? selectorFields : selectorFields.filter((field) => field !== 'causes');
  if (!isObject(raw)) throw new SelectorError(at, `expected a mapping with at least one of ${fields.join(', ')}`);
  const selector: Selector = {};
  for (const [key, value] of Object.entries(raw)) {
    const field = `${at}.${key}`;
    if (context.otherFields?.includes(key)) continue;
    if (!fields.includes(key)) {
      throw new SelectorError(field, 'unknown field', `fields are ${[...fields, ...(context.otherFields ?? [])].join(', ')}`);
    }
    if ((listFields as readonly string[]).includes(key)) {
      (selector as Record<string, string[]>)[key] = parseList(key as (typeof listFields)[number], value, field, context);
    } else if (key === 'values') {
      if (typeof value !== 'string' || value === '') throw new SelectorError(field, 'expected a regular expression');
      try {
        new RegExp(value);
      } catch (error) {
        throw new SelectorError(field, `not a regular expression: ${(error as Error).message}`);
      }
      selector.values = value;
    } else if (key === 'modeBits') {
      // Up to the tar mode field's 7 octal digits: Go writers put the file-type bits (0o170000) there.
      if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 0o7777777) {
        throw new SelectorError(field, 'expected mode bits, 1 to 0o7777777 (YAML: 0o022)');
      }
      selector.modeBits = value;
    } else {
      if (typeof value !== 'string' || !predicateNames.includes(value)) {
        throw new SelectorError(field, `unknown predicate ${JSON.stringify(value)}`, `predicates are ${predicateNames.join(', ')}`);
      }
      selector.predicate = value;
    }
  }
  // A selector of no field would match everything, which no one means to write.
  if (Object.keys(selector).length === 0) throw new SelectorError(at, `give at least one of ${fields.join(', ')}`);
  return selector;
}

function parseList(key: (typeof listFields)[number], value: unknown, field: string, context: SelectorContext): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new SelectorError(field, 'expected a non-empty list of strings');
  return value.map((item: unknown, index) => {
    const itemAt = `${field}[${index}]`;
    if (typeof item !== 'string' || item === '') throw new SelectorError(itemAt, 'expected a non-empty string');
    if (key === 'kinds' && !(differenceKinds as string[]).includes(item)) {
      throw new SelectorError(itemAt, `unknown kind ${JSON.stringify(item)}`, `kinds are ${differenceKinds.join(', ')}`);
    }
    if (key === 'attributes' && !(fileAttributes as string[]).includes(item)) {
      throw new SelectorError(itemAt, `unknown attribute ${JSON.stringify(item)}`, `attributes are ${fileAttributes.join(', ')}`);
    }
    if (key === 'causes' && !context.knownCauses?.has(item)) {
      throw new SelectorError(itemAt, `unknown cause ${JSON.stringify(item)}`, `causes are ${[...(context.knownCauses ?? [])].join(', ')}`);
    }
    if (key === 'paths' || key === 'pointers') {
      const problem = checkGlob(item);
      if (problem) throw new SelectorError(itemAt, problem, 'globs take *, **, ?, [abc], [a-z], [!x] and {a,b}; [[] and [{] match a literal bracket');
    }
    return item;
  });
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
