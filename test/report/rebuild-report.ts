/**
 * A rebuild report made in code (the builds are in test/rebuild/), for the rebuild formats' tests and
 * the browser test: clock breaks /stamp; umask breaks hello.txt's mode besides; mtimes only what clock
 * breaks; env skipped.
 */
import { findCauseEntry } from '../../src/causes/catalogue.js';
import type { RebuildReport, VariationOutcome } from '../../src/report/rebuild-model.js';

export const umaskFix = findCauseEntry('umask-mode')!.fix!;

export function outcome(name: VariationOutcome['name'], remaining: string[], extra: Partial<VariationOutcome> = {}): VariationOutcome {
  return {
    name,
    description: `the ${name} variation`,
    when: `when ${name} changes`,
    status: 'compared',
    buildSeconds: 1.25,
    verdict: remaining.length > 0 ? 'not-reproducible' : 'reproducible',
    passed: remaining.length === 0,
    remaining,
    causes: [],
    ...extra,
  };
}

/** clock breaks /stamp; umask breaks hello.txt's mode besides; mtimes only what clock breaks; env skipped. */
export function rebuildReport(): RebuildReport {
  return {
    schemaVersion: 1,
    kind: 'rebuild',
    tool: { name: 'oci-repro', version: '0.0.0-test' },
    context: '/ctx',
    dockerfile: '/ctx/Dockerfile',
    builder: 'buildah',
    passed: false,
    baseline: { buildSeconds: 2 },
    variations: [
      outcome('clock', ['layers/1/stamp#content'], { causes: [{ id: 'unknown', title: 'no known cause', fix: null, remaining: 1, neutralized: 0 }] }),
      outcome('mtimes', ['layers/1/stamp#content'], { beyondClock: [], causes: [{ id: 'file-mtime', title: 'file mtime', fix: null, remaining: 0, neutralized: 3 }] }),
      outcome('umask', ['layers/0/hello.txt#mode', 'layers/1/stamp#content'], {
        beyondClock: ['layers/0/hello.txt#mode'],
        causes: [{ id: 'umask-mode', title: 'group or other write permission differs', fix: umaskFix, remaining: 1, neutralized: 0 }],
      }),
      { name: 'env', description: 'TZ and LANG/LC_ALL changed in RUN steps', when: 'when the time zone or locale changes', status: 'skipped', reason: 'RUN steps do not see --env <b>' },
    ],
    differences: [
      { path: 'layers/0/hello.txt#mode', cause: { id: 'umask-mode', title: 'group or other write permission differs' }, hint: umaskFix, variations: ['umask'], everyBuild: false },
      { path: 'layers/1/stamp#content', cause: null, hint: null, variations: ['clock', 'mtimes', 'umask'], everyBuild: true },
    ],
    totalSeconds: 9.5,
  };
}
