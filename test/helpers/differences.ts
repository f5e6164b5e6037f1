/** Differences built by hand for tests of the content pass and its prefetch. */
import type { Difference } from '../../src/diff/model.js';
import { sha256Of } from './digest.js';

/** A layer-0 file whose contents differ, as the comparer reports it before the content pass adds details. */
export function contentDifference(file: string, a: Buffer, b: Buffer, fields: Partial<Difference> = {}): Difference {
  return {
    kind: 'file-attribute',
    path: `layers/0/${file}#content`,
    layer: 0,
    file,
    attribute: 'content',
    a: sha256Of(a),
    b: sha256Of(b),
    neutralized: false,
    cause: null,
    detail: { format: 'binary', sizeA: a.length, sizeB: b.length, digestA: sha256Of(a), digestB: sha256Of(b) },
    ...fields,
  } as Difference;
}
