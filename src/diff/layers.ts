/**
 * A layer pair compared: each side's link of the identity chain and where the chain breaks. Built by
 * compare/, shown by report/; here on the bottom floor so compare/ never imports report/.
 */

/** One link of the identity chain per layer. */
export interface LayerIdentity {
  index: number;
  mediaType: string;
  digest: string;
  size: number;
  diffId: string;
  foreign: boolean;
  /** The Dockerfile step that made the layer (history created_by), if history says. */
  step: string | null;
}

/** Where a layer pair's identity chain breaks. */
export type LayerStatus =
  /** Same blob digest. */
  | 'identical'
  /** Same diff_id, different blob: compression only. */
  | 'compression'
  /** Same canonical diff_id, different diff_id: tar noise only. */
  | 'tar'
  /** Different canonical diff_id: content or metadata that normalization keeps. */
  | 'content'
  /** Present in one image only. */
  | 'missing';

export interface LayerSide extends LayerIdentity {
  canonicalDiffId: string | null;
}

export interface LayerComparison {
  index: number;
  status: LayerStatus;
  /** The Dockerfile step, from A's history (B's when A has none). */
  step: string | null;
  a: LayerSide | null;
  b: LayerSide | null;
  /** Counts of file differences in this layer, for the summary. */
  counts: { added: number; removed: number; changed: number };
}
