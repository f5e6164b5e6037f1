/**
 * The one view model of a verify report, which every renderer reads and only formats: the verdict and
 * its words, the identity chains link by link, the causes, and the differences grouped by scope
 * (config, each layer, the flattened filesystem) with their counts computed once. Format neutral: no
 * ANSI, no Markdown or XML escaping, values not cut to a width (each format has its own; see
 * view-values.ts for the cutting, done the same way for all).
 */
import { countBlockingByLayer, countOmitted, differenceScope, isBlocking } from '../diff/count.js';
import type { LayerComparison } from '../diff/layers.js';
import { unknownCauseId, type Difference, type DifferenceScope, type OmittedDifferences } from '../diff/model.js';
import type { Report } from './model.js';
import { compareText } from './summary.js';
import { describeDifference, layerStepsOf, type DifferenceView } from './view-values.js';
import { describeStatus, plural, showControlCharacters, verdictTitles } from './wording.js';

/** One link of an identity chain, A beside B. */
export interface LinkView {
  label: string;
  /** A digest; null where the side has none (a legacy docker-archive's manifest, an unnormalized layer); undefined where the side is absent (a layer on one side only). */
  a: string | null | undefined;
  b: string | null | undefined;
  /**
   * `not-comparable` when either side has none (null); `not-computed` when verify did not read what the
   * digest needs (layers with equal diff_ids): `note` says why, and `breaks` whether it differs.
   */
  state: 'same' | 'differs' | 'not-comparable' | 'not-computed';
  note?: string;
  /** The chain breaks here: the most normalized link that differs. */
  breaks: boolean;
}

export interface LayerView {
  index: number;
  layer: LayerComparison;
  /** `content differs`, `only in A`, ... */
  status: string;
  /** A's step (B's when A has none). */
  step: string | null;
  /** Both sides' steps when the builds ran different steps here, uncut; null when the same. */
  steps: [string, string] | null;
  /** blob digest, diff_id, canonical diff_id. */
  links: [LinkView, LinkView, LinkView];
  /** Differences that still block, counted for this layer (a flattened file counts for both origins). */
  blocking: number;
  /** This layer's differences, when it has any. */
  group: GroupView | undefined;
}

export interface FileView {
  file: string;
  differences: DifferenceView[];
}

export interface GroupView {
  scope: DifferenceScope;
  /** `config`, `layer 2`, or `filesystem`: names a group in a sentence. */
  id: string;
  /** `config and manifest`, `layer 2: RUN make`, `flattened filesystem`. */
  title: string;
  layer: LayerComparison | null;
  /** Differences not about one file (config fields, whole-layer kinds), in report order. */
  general: DifferenceView[];
  /** File differences by file, files sorted. */
  files: FileView[];
  /** Neither neutralized nor accepted. */
  blocking: number;
  accepted: number;
  /** Neutralized differences, listed or not. */
  neutralized: number;
  /** Neutralized differences of this group counted but not listed, per cause (`Report.omitted`). */
  omitted: OmittedDifferences[];
  /** `4 remaining, 1 accepted, 3 neutralized`. */
  counts: string;
  /** `file-mtime 118, owner-names 2`: the neutralized ones by cause, listed or not. */
  neutralizedByCause: string;
  /** `N more neutralized differences not listed (use --all-differences)`, or null. */
  omittedNote: string | null;
}

export interface CauseView {
  id: string;
  title: string;
  total: number;
  neutralized: number;
  accepted: number;
  /** Neither neutralized nor accepted. */
  blocking: number;
  /** The fix, from the catalogue. */
  hint: string | undefined;
  unknown: boolean;
}

export interface ViewOptions {
  /**
   * Make control characters in the images' strings visible (wording.ts showControlCharacters); the
   * default. A format with an escape of its own for them (XML's) turns it off.
   */
  showControlCharacters?: boolean;
}

export interface ReportView {
  /** The report, with control characters made visible unless the options said not to. */
  report: Report;
  verdictTitle: string;
  /** `epoch 0`, `timestamps set`, `rules off: mtime`, `strict`, `policy p.yaml`. */
  settings: string[];
  /** `12 differences: 10 neutralized by normalization, 2 remaining`. */
  counts: string;
  causes: CauseView[];
  /** manifest digest, image ID, canonical digest. */
  links: [LinkView, LinkView, LinkView];
  layers: LayerView[];
  /** Config first, then each layer by index, then the flattened filesystem. */
  groups: GroupView[];
  config: GroupView | undefined;
  filesystem: GroupView | undefined;
  /** Neutralized differences counted but not listed, over the whole report. */
  omitted: number;
  /** `N more neutralized differences not listed (use --all-differences)`, or null. */
  omittedNote: string | null;
}

export function buildReportView(input: Report, options: ViewOptions = {}): ReportView {
  const report = options.showControlCharacters === false ? input : showControlCharacters(input);
  const groups = groupDifferences(report);
  const byScope = new Map(groups.map((group) => [group.scope, group]));
  const blockingByLayer = countBlockingByLayer(report.differences);
  const omitted = countOmitted(report.omitted);
  const imageBreak = brokenImageLink(report);
  const image = (label: string, key: 'manifestDigest' | 'imageId' | 'canonicalDigest', name: typeof imageBreak) =>
    link(label, report.a[key], report.b[key], imageBreak === name, key === 'canonicalDigest' ? notReadNote : undefined);
  const settings = report.options;
  return {
    report,
    verdictTitle: verdictTitles[report.verdict],
    settings: [
      `epoch ${settings.epoch}`,
      `timestamps ${settings.timestampMode}`,
      settings.disabledRules.length ? `rules off: ${settings.disabledRules.join(', ')}` : '',
      settings.strict ? 'strict' : '',
      settings.policy ? `policy ${settings.policy}` : '',
    ].filter(Boolean),
    counts: describeCounts(report, omitted),
    causes: report.summary.byCause.map((count) => ({
      id: count.cause,
      title: count.title,
      total: count.count,
      neutralized: count.neutralized,
      accepted: count.accepted,
      blocking: count.count - count.neutralized - count.accepted,
      hint: count.hint,
      unknown: count.cause === unknownCauseId,
    })),
    links: [
      image('manifest digest', 'manifestDigest', 'manifest'),
      image('image ID', 'imageId', 'imageId'),
      image('canonical digest', 'canonicalDigest', 'canonical'),
    ],
    layers: report.layers.map((layer) => layerView(layer, blockingByLayer.get(layer.index) ?? 0, byScope.get(`layers/${layer.index}`))),
    groups,
    config: byScope.get('config'),
    filesystem: byScope.get('fs'),
    omitted,
    omittedNote: describeOmitted(omitted),
  };
}

/** Why a canonical digest is null on both sides: verify left layer pairs with equal diff_ids unread. */
const notReadNote = 'see --verify-blobs';

function link(label: string, a: string | null | undefined, b: string | null | undefined, breaks: boolean, notComputed?: string): LinkView {
  if (notComputed !== undefined && a === null && b === null) return { label, a, b, state: 'not-computed', note: notComputed, breaks };
  // A missing digest (a legacy docker-archive's manifest) neither matches nor differs.
  const state = a === null || b === null ? 'not-comparable' : a === b ? 'same' : 'differs';
  return { label, a, b, state, breaks };
}

function layerView(layer: LayerComparison, blocking: number, group: GroupView | undefined): LayerView {
  const broken = brokenLayerLink(layer);
  const side = (field: 'digest' | 'diffId' | 'canonicalDiffId', which: 'a' | 'b') => layer[which]?.[field];
  // A pair with equal diff_ids that verify did not read has no canonical diff_ids.
  const unread = layer.a?.diffId !== undefined && layer.a.diffId === layer.b?.diffId ? 'same diff_id, not read' : undefined;
  const pair = (label: string, field: 'digest' | 'diffId' | 'canonicalDiffId', name: typeof broken) =>
    link(label, side(field, 'a'), side(field, 'b'), broken === name, field === 'canonicalDiffId' ? unread : undefined);
  const a = layer.a?.step ?? null;
  const b = layer.b?.step ?? null;
  return {
    index: layer.index,
    layer,
    status: describeStatus(layer),
    step: layer.step,
    steps: layer.a === null || layer.b === null || a === b ? null : [a ?? '(no history step)', b ?? '(no history step)'],
    links: [pair('blob digest', 'digest', 'blob'), pair('diff_id', 'diffId', 'diffId'), pair('canonical diff_id', 'canonicalDiffId', 'canonical')],
    blocking,
    group,
  };
}

/** Which link of a layer's chain breaks: the most normalized one that differs. */
function brokenLayerLink(layer: LayerComparison): 'blob' | 'diffId' | 'canonical' | 'missing' | null {
  switch (layer.status) {
    case 'identical':
      return null;
    case 'compression':
      return 'blob';
    case 'tar':
      return 'diffId';
    case 'content':
      return 'canonical';
    case 'missing':
      return 'missing';
  }
}

function brokenImageLink(report: Report): 'manifest' | 'imageId' | 'canonical' | null {
  // The verdict too: verify may leave both canonical digests uncomputed (null).
  if (report.a.canonicalDigest !== report.b.canonicalDigest || report.verdict === 'not-reproducible') return 'canonical';
  if (report.a.imageId !== report.b.imageId) return 'imageId';
  // Manifest digests are comparable only when both images have one (a legacy docker-archive has none).
  const comparable = report.a.manifestDigest !== null && report.b.manifestDigest !== null;
  if (comparable && report.a.manifestDigest !== report.b.manifestDigest) return 'manifest';
  return null;
}

/**
 * The counts line. Remaining here is what still blocks, as in the cause table's column: accepted
 * differences are counted apart, never as remaining.
 */
function describeCounts(report: Report, unlisted: number): string {
  const { summary } = report;
  if (summary.differences === 0) return 'no differences';
  const blocking = report.differences.filter(isBlocking);
  const unexplained = blocking.filter((difference) => difference.cause === null).length;
  return (
    `${plural(summary.differences, 'difference')}: ${summary.neutralized} neutralized by normalization` +
    `${unlisted > 0 ? ` (${unlisted} of them not listed: use --all-differences)` : ''}, ` +
    `${summary.accepted > 0 ? `${summary.accepted} accepted by policy, ` : ''}` +
    `${blocking.length} remaining${unexplained > 0 ? ` (${unexplained} with no known cause)` : ''}`
  );
}

function describeOmitted(count: number): string | null {
  if (count === 0) return null;
  return `${count} more neutralized ${count === 1 ? 'difference' : 'differences'} not listed (use --all-differences)`;
}

interface GroupBuilder extends GroupView {
  fileLists: Map<string, DifferenceView[]>;
  all: Difference[];
}

/**
 * Config and manifest first, then each layer by index, then the flattened filesystem, which holds
 * the file differences of a flattened comparison (their `origin` names each side's layer).
 */
function groupDifferences(report: Report): GroupView[] {
  const groups = new Map<DifferenceScope, GroupBuilder>();
  const layers = new Map(report.layers.map((layer) => [layer.index, layer]));
  // Each side's steps by layer index, for the step that wrote each file.
  const steps = layerStepsOf(report);
  const groupOf = (scope: DifferenceScope): GroupBuilder => {
    let group = groups.get(scope);
    if (group) return group;
    let id: string;
    let title: string;
    let layer: LayerComparison | null = null;
    if (scope.startsWith('layers/')) {
      const index = Number(scope.slice('layers/'.length));
      id = `layer ${index}`;
      layer = layers.get(index) ?? null;
      title = layer?.step ? `layer ${index}: ${layer.step}` : id;
    } else if (scope === 'fs') {
      id = 'filesystem';
      title = 'flattened filesystem';
    } else {
      id = 'config';
      title = 'config and manifest';
    }
    group = {
      scope,
      id,
      title,
      layer,
      general: [],
      files: [],
      blocking: 0,
      neutralized: 0,
      accepted: 0,
      omitted: [],
      counts: '',
      neutralizedByCause: '',
      omittedNote: null,
      fileLists: new Map(),
      all: [],
    };
    groups.set(scope, group);
    return group;
  };
  for (const difference of report.differences) {
    const group = groupOf(differenceScope(difference));
    if (difference.neutralized) group.neutralized += 1;
    else if (difference.accepted) group.accepted += 1;
    else group.blocking += 1;
    group.all.push(difference);
    const view = describeDifference(difference, steps);
    if (difference.file === undefined) {
      group.general.push(view);
      continue;
    }
    const list = group.fileLists.get(difference.file) ?? [];
    list.push(view);
    group.fileLists.set(difference.file, list);
  }
  for (const omitted of report.omitted ?? []) {
    const group = groupOf(omitted.scope);
    group.neutralized += omitted.count;
    group.omitted.push(omitted);
  }
  const rank = (group: GroupView) => (group.scope === 'config' ? -1 : group.scope === 'fs' ? Number.MAX_SAFE_INTEGER : Number(group.scope.slice(7)));
  return [...groups.values()]
    .sort((x, y) => rank(x) - rank(y))
    .map(({ fileLists, all, ...group }) => ({
      ...group,
      files: [...fileLists].sort(([x], [y]) => compareText(x, y)).map(([file, differences]) => ({ file, differences })),
      counts: [`${group.blocking} remaining`, group.accepted ? `${group.accepted} accepted` : '', group.neutralized ? `${group.neutralized} neutralized` : '']
        .filter(Boolean)
        .join(', '),
      neutralizedByCause: countNeutralizedByCause(all, group.omitted),
      omittedNote: describeOmitted(countOmitted(group.omitted)),
    }));
}

/** `file-mtime 118, owner-names 2`: neutralized differences counted per cause, the `omitted` ones too. */
function countNeutralizedByCause(differences: readonly Difference[], omitted: readonly OmittedDifferences[]): string {
  const counts = new Map<string, number>();
  for (const difference of differences) {
    if (!difference.neutralized) continue;
    const id = difference.cause?.id ?? unknownCauseId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const group of omitted) counts.set(group.cause, (counts.get(group.cause) ?? 0) + group.count);
  return [...counts]
    .sort(([x, a], [y, b]) => b - a || compareText(x, y))
    .map(([id, count]) => `${id} ${count}`)
    .join(', ');
}
