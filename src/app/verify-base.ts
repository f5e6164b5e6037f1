/**
 * verify with `--base`/`--base-layers`: both builds keep their bottom (base) layers as they are, and
 * when those differ between the builds every difference inside them is the base image's doing.
 */
import type { DifferenceSink } from '../compare/collect.js';
import { findCauseEntry } from '../causes/catalogue.js';
import type { Image } from '../image/image.js';
import { historyOfLayers, resolveBase, type BaseRequest, type ResolvedBase } from '../normalize/base.js';
import type { Difference } from '../diff/model.js';
import type { LoadOptions } from '../sources/index.js';

export interface VerifyBases {
  a: Pick<ResolvedBase, 'layers' | 'history'>;
  b: Pick<ResolvedBase, 'layers' | 'history'>;
  /** The kept layers' diff_ids are equal on both sides. */
  same: boolean;
}

/**
 * A must be built on the base (else exit 3, as normalize); B keeps as many bottom layers whatever they
 * are, so a build on another base is reported as a difference with its cause, not refused.
 */
export async function resolveVerifyBases(a: Image, b: Image, request: BaseRequest, load: LoadOptions = {}): Promise<VerifyBases> {
  const baseA = await resolveBase(a, request, load);
  const layers = Math.min(baseA.layers, b.layers.length);
  const same = layers === baseA.layers && baseA.diffIds.every((diffId, k) => b.layers[k].diffId === diffId);
  const historyB = same && sameEntries(a, b, baseA.history) ? baseA.history : historyOfLayers(b.config.parsed.history, layers);
  return { a: baseA, b: { layers, history: historyB }, same };
}

function sameEntries(a: Image, b: Image, count: number): boolean {
  const [ha, hb] = [a.config.parsed.history ?? [], b.config.parsed.history ?? []];
  if (ha.length < count || hb.length < count) return false;
  return ha.slice(0, count).every((entry, i) => JSON.stringify(entry) === JSON.stringify(hb[i]));
}

/**
 * Names the base cause on differences inside the kept base layers and history entries, then passes
 * them on. None of them counts as neutralized, as those layers and entries are kept as they are.
 */
export function baseCauseSink(out: DifferenceSink, bases: VerifyBases): DifferenceSink {
  if (bases.same) return out;
  const entry = findCauseEntry('base-image')!;
  const layers = Math.max(bases.a.layers, bases.b.layers);
  const history = Math.max(bases.a.history, bases.b.history);
  const inBase = (difference: Difference): boolean => {
    if (difference.origin) return (difference.origin.a ?? Infinity) < layers || (difference.origin.b ?? Infinity) < layers;
    if (difference.layer !== undefined) return difference.layer < layers;
    if (difference.kind !== 'config-field') return false;
    const diffId = /^\/rootfs\/diff_ids\/(\d+)$/.exec(difference.path);
    if (diffId) return Number(diffId[1]) < layers;
    const step = /^\/history\/(\d+)(\/|$)/.exec(difference.path);
    return step !== null && Number(step[1]) < history;
  };
  return {
    push(difference: Difference) {
      if (difference.cause === null && inBase(difference)) {
        difference.cause = { id: entry.id, title: entry.title };
        difference.hint = entry.fix;
        // Kept layers and the base's history are not normalized: nothing there is neutralized.
        difference.neutralized = false;
      }
      return out.push(difference);
    },
  };
}
