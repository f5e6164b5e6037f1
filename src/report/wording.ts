/**
 * The words every format uses, in one place: verdict and layer status titles, counts of things,
 * digests shortened for side-by-side display, and text from the images made safe to show. Format
 * neutral: no ANSI, no Markdown or XML escaping (each renderer escapes for its own format).
 */
import type { LayerComparison, LayerStatus } from '../diff/layers.js';
import type { Verdict } from './model.js';

export const verdictTitles: Readonly<Record<Verdict, string>> = {
  identical: 'identical',
  reproducible: 'reproducible (equal after normalization)',
  'not-reproducible': 'not reproducible',
};

export const statusTitles: Readonly<Record<LayerStatus, string>> = {
  identical: 'identical',
  compression: 'compression only',
  tar: 'tar noise only',
  content: 'content differs',
  missing: 'missing on one side',
};

/** A layer's status in a few words; a missing layer says which side has it. */
export function describeStatus(layer: LayerComparison): string {
  if (layer.status !== 'missing') return statusTitles[layer.status];
  return layer.a ? 'only in A' : 'only in B';
}

/** `1 difference`, `2 differences`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** 12 hex digits: enough to tell two digests apart when both are shown side by side. Also inside text. */
export function shortDigest(text: string): string {
  return text.replace(/\b(sha256|sha512):([0-9a-f]{12})[0-9a-f]{52,116}\b/g, '$1:$2');
}

/**
 * The value with control characters in every string made visible (`\x1b`): file names and file
 * contents come from the images, and must not move a terminal's cursor or forge colours in a CI log.
 * Line feeds and tabs stay (diffs need them). Applying it twice changes nothing.
 */
export function showControlCharacters<T>(value: T): T {
  if (typeof value === 'string') {
    return value.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`) as T;
  }
  if (Array.isArray(value)) return value.map((item) => showControlCharacters(item)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, showControlCharacters(item)])) as T;
  }
  return value;
}
