/**
 * Named predicates: what a selector cannot say as data (globs, lists, a regular expression). A
 * catalogue or policy entry names one with `predicate: NAME`; it holds together with the selector's
 * other fields. A new one is a function here and a name in the table, nothing else.
 */
import { isZeroValue } from '../normalize/config.js';
import type { Difference } from '../diff/model.js';

/** What a predicate may know beyond the difference itself, computed from all differences in view. */
export interface MatchContext {
  /** The run-config fields (`Env`, `Labels`) that a changed Dockerfile step sets (compare/step-fields.ts). */
  stepFields?: ReadonlySet<string>;
}

export type Predicate = (difference: Difference, context: MatchContext) => boolean;

/**
 * The classic builder and buildah name copied content by its hash (`COPY file:<hex> in /`,
 * `dir:<hex>`, `multi:<hex>`): two step texts that differ only there are the same step.
 */
const contentHash = /\b(?:file|dir|multi):[0-9a-f]{8,}\b/g;

function differsOnlyInContentHash({ a, b }: Difference): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a === b) return false;
  contentHash.lastIndex = 0;
  if (!contentHash.test(a)) return false;
  const blank = (value: string) => value.replace(contentHash, '\u0000');
  return blank(a) === blank(b);
}

/**
 * The ELF fields that change with Go's build id alone: the id (`notes` go-build-id), its note
 * section, and `.go.buildinfo`, where `-buildvcs` stamps the revision and time (a same-size change).
 */
const goBuildIdFields = new Set(['notes#go-build-id', '.note.go.buildid#sha256', '.go.buildinfo#sha256']);

/** A decoded ELF detail in which the Go build id differs and nothing outside `goBuildIdFields` does. */
function differsOnlyInGoBuildId({ detail }: Difference): boolean {
  if (detail?.format !== 'decoded' || detail.decoder !== 'elf') return false;
  const { changes } = detail;
  return changes.some((change) => change.field === 'go-build-id') && changes.every((change) => goBuildIdFields.has(`${change.where}#${change.field}`));
}

export const predicates: Readonly<Record<string, Predicate>> = {
  /** Both values are JSON zero values (an absent value is `null`): one writer spelled out what the other omitted. */
  'zero-values': ({ a, b }) => isZeroValue(a) && isZeroValue(b),
  /** Exactly one value is absent (`null`): the field is on one side only. */
  'one-side-absent': ({ a, b }) => (a === null) !== (b === null),
  /** Both values are strings equal but for the builder's content hashes (`file:<hex>`). */
  'differs-only-in-content-hash': differsOnlyInContentHash,
  /** A `/config/F/...` or `/container_config/F/...` field that a changed step sets: `ENV a b` -> `ENV a c` and /config/Env/1. */
  'set-by-changed-step': ({ kind, path }, { stepFields }) => {
    const field = kind === 'config-field' ? /^\/(?:config|container_config)\/([^/]+)/.exec(path)?.[1] : undefined;
    return field !== undefined && stepFields?.has(field) === true;
  },
  /** An ELF file whose decoded difference is Go's build id (and the VCS stamp beside it), no code. */
  'differs-only-in-go-build-id': differsOnlyInGoBuildId,
};

export const predicateNames = Object.keys(predicates);

