/**
 * Config and manifest comparison: a deep diff of the raw JSON by RFC 6901 pointer, one difference per
 * differing leaf, each marked neutralized when the normalized documents agree at the same pointer.
 */
import type { ImageConfig } from '../image/types.js';
import { escapePointerToken, normalizeConfig, normalizeManifestAnnotations } from '../normalize/config.js';
import type { NormalizeOptions } from '../normalize/options.js';
import type { Difference } from '../diff/model.js';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Called once per differing leaf. `tokens` (the pointer's unescaped tokens) is only valid during the
 * call. Absent values are `undefined`.
 */
export type JsonDiffVisitor = (pointer: string, a: unknown, b: unknown, tokens: readonly (string | number)[]) => void;

/**
 * Walks two JSON values in parallel: objects by key (A's keys in order, then B's extra keys), arrays
 * element-wise by index (extra elements visited whole, the other side `undefined`), and visits every
 * place where they differ. Values of different JSON types are one leaf.
 */
export function diffJson(a: unknown, b: unknown, visit: JsonDiffVisitor, basePointer = ''): void {
  walk(a, b, basePointer, [], visit);
}

function walk(a: unknown, b: unknown, pointer: string, tokens: (string | number)[], visit: JsonDiffVisitor): void {
  if (isObject(a) && isObject(b)) {
    for (const key of Object.keys(a)) {
      tokens.push(key);
      const child = `${pointer}/${escapePointerToken(key)}`;
      if (Object.hasOwn(b, key)) walk(a[key], b[key], child, tokens, visit);
      else visit(child, a[key], undefined, tokens);
      tokens.pop();
    }
    for (const key of Object.keys(b)) {
      if (Object.hasOwn(a, key)) continue;
      tokens.push(key);
      visit(`${pointer}/${escapePointerToken(key)}`, undefined, b[key], tokens);
      tokens.pop();
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const length = Math.max(a.length, b.length);
    for (let index = 0; index < length; index++) {
      tokens.push(index);
      const child = `${pointer}/${index}`;
      if (index < a.length && index < b.length) walk(a[index], b[index], child, tokens, visit);
      else visit(child, index < a.length ? a[index] : undefined, index < b.length ? b[index] : undefined, tokens);
      tokens.pop();
    }
    return;
  }
  if (!jsonEqual(a, b)) visit(pointer, a, b, tokens);
}

/** Deep equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const key of keys) if (!Object.hasOwn(b, key) || !jsonEqual(a[key], b[key])) return false;
    return true;
  }
  return false;
}

/** The value at `tokens` in `document`, or undefined when the path does not exist. */
export function valueAt(document: unknown, tokens: readonly (string | number)[]): unknown {
  let value = document;
  for (const token of tokens) {
    if (Array.isArray(value) && typeof token === 'number') value = value[token];
    else if (isObject(value) && typeof token === 'string' && Object.hasOwn(value, token)) value = value[token];
    else return undefined;
  }
  return value;
}

/** The canonical diff_ids of each side, when the layers were read; needed to judge `/rootfs/diff_ids/N`. */
export interface CanonicalDiffIds {
  a: readonly string[];
  b: readonly string[];
}

/**
 * Every differing leaf of two raw configs as a `config-field` difference (`/created`,
 * `/history/3/created`, `/config/Env/2`, `/config/Labels/a~1b`; unknown keys too). `neutralized` is
 * true when `normalizeConfig` with `options` makes both sides agree at that pointer; for
 * `/rootfs/diff_ids/N` that means the canonical diff_ids are equal, so without `canonicalDiffIds` a
 * diff_id difference is never neutralized. Throws what `normalizeConfig` throws (a diff_ids list whose
 * length does not match its canonical list).
 */
export function compareConfigs(
  a: ImageConfig,
  b: ImageConfig,
  options: NormalizeOptions,
  canonicalDiffIds?: CanonicalDiffIds,
): Difference[] {
  const normalizedA = normalizeConfig(a, canonicalDiffIds?.a, options).config;
  const normalizedB = normalizeConfig(b, canonicalDiffIds?.b, options).config;
  return diffDocuments('config-field', a, b, normalizedA, normalizedB, '');
}

/**
 * Manifest annotations as `manifest-field` differences (`/annotations/org.opencontainers.image.created`),
 * one per differing key; a missing annotations map counts as an empty one. `basePointer` is where the
 * map sits in its document, as for `normalizeManifestAnnotations`.
 */
export function compareManifestAnnotations(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
  options: NormalizeOptions,
  basePointer = '/annotations',
): Difference[] {
  const rawA = a ?? {};
  const rawB = b ?? {};
  const normalizedA = normalizeManifestAnnotations(rawA, options, basePointer).annotations;
  const normalizedB = normalizeManifestAnnotations(rawB, options, basePointer).annotations;
  return diffDocuments('manifest-field', rawA, rawB, normalizedA, normalizedB, basePointer);
}

function diffDocuments(
  kind: 'config-field' | 'manifest-field',
  a: unknown,
  b: unknown,
  normalizedA: unknown,
  normalizedB: unknown,
  basePointer: string,
): Difference[] {
  const differences: Difference[] = [];
  diffJson(
    a,
    b,
    (pointer, va, vb, tokens) => {
      // Rules never add keys and never delete array elements, so a pointer names the same field in the
      // normalized documents; a key a rule deleted is absent there, and absent on both sides agrees
      // (valueAt gives undefined for both): `"Tty": false` against no Tty is neutralized.
      const neutralized = jsonEqual(valueAt(normalizedA, tokens), valueAt(normalizedB, tokens));
      differences.push({
        kind,
        path: pointer,
        a: va === undefined ? null : va,
        b: vb === undefined ? null : vb,
        neutralized,
        cause: null,
      });
    },
    basePointer,
  );
  return differences;
}
