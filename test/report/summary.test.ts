import { describe, expect, it } from 'vitest';
import type { LayerComparison } from '../../src/diff/layers.js';
import { unknownCauseId, type Difference, type EntryValue } from '../../src/diff/model.js';
import { describeFileChange, summarize } from '../../src/report/summary.js';
import { countBlockingByLayer } from '../../src/diff/count.js';
import { buildFixedReport } from './fixed-report.js';

const entry: EntryValue = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1 };

function fileDifference(layer: number, file: string, attribute: Difference['attribute'], extra: Partial<Difference> = {}): Difference {
  return {
    kind: 'file-attribute',
    path: `layers/${layer}/${file}#${attribute}`,
    layer,
    file,
    attribute,
    a: 1,
    b: 2,
    neutralized: false,
    cause: null,
    ...extra,
  } as Difference;
}

const layers: LayerComparison[] = [0, 1, 2].map((index) => ({
  index,
  status: 'content',
  step: `RUN step ${index}`,
  a: null,
  b: null,
  counts: { added: 0, removed: 0, changed: 0 },
}));

describe('summarize', () => {
  it('counts remaining, neutralized, accepted and unexplained differences', () => {
    const mtime = { id: 'file-mtime', title: 'file modification times' };
    const logs = { id: 'apt-logs', title: 'apt and dpkg logs' };
    const summary = summarize(
      [
        fileDifference(1, 'a', 'mtime', { neutralized: true, cause: mtime, hint: 'rewrite-timestamp' }),
        fileDifference(1, 'b', 'mtime', { neutralized: true, cause: mtime, hint: 'rewrite-timestamp' }),
        fileDifference(1, 'var/log/dpkg.log', 'content', { cause: logs, hint: 'delete them' }),
        fileDifference(2, 'var/log/dpkg.log', 'content', { cause: logs, accepted: { reason: 'ok', rule: 'accept[0]' } }),
        fileDifference(2, 'usr/bin/app', 'mode'),
        fileDifference(2, 'usr/bin/app', 'uid'),
      ],
      layers,
    );
    expect(summary).toMatchObject({ differences: 6, remaining: 4, neutralized: 2, accepted: 1, unexplained: 2 });
    expect(summary.byCause).toEqual([
      { cause: unknownCauseId, title: 'no known cause', count: 2, neutralized: 0, accepted: 0 },
      { cause: 'apt-logs', title: 'apt and dpkg logs', count: 2, neutralized: 0, accepted: 1, hint: 'delete them' },
      { cause: 'file-mtime', title: 'file modification times', count: 2, neutralized: 2, accepted: 0, hint: 'rewrite-timestamp' },
    ]);
    // Accepted differences no longer block: not in the lists of where the remaining ones are.
    expect(summary.topLayers).toEqual([
      { index: 2, step: 'RUN step 2', remaining: 2 },
      { index: 1, step: 'RUN step 1', remaining: 1 },
    ]);
    expect(summary.topFiles).toEqual([
      { layer: 2, file: 'usr/bin/app', attributes: ['mode', 'uid'] },
      { layer: 1, file: 'var/log/dpkg.log', attributes: ['content'] },
    ]);
  });

  it('caps the top lists and puts flattened files after layered ones', () => {
    const differences = Array.from({ length: 30 }, (_, index) => fileDifference(index % 3, `f${String(index).padStart(2, '0')}`, 'content'));
    differences.push({ kind: 'file-added', path: 'fs/zz', file: 'zz', a: null, b: entry, neutralized: false, cause: null });
    const summary = summarize(differences, layers, { topFiles: 5, topLayers: 2 });
    expect(summary.topFiles).toHaveLength(5);
    expect(summary.topLayers).toHaveLength(2);
    const all = summarize(differences, layers, { topFiles: 100 });
    expect(all.topFiles.at(-1)).toEqual({ layer: null, file: 'zz', attributes: ['added'] });
  });

  it('counts a flattened file for the layer of A and the layer of B it came from, and lists it under the filesystem', () => {
    const squashed: Difference = {
      kind: 'file-attribute',
      path: 'fs/opt/app/app.conf#content',
      layer: 1,
      origin: { a: 1, b: 0 },
      file: 'opt/app/app.conf',
      attribute: 'content',
      a: 'x',
      b: 'y',
      neutralized: false,
      cause: null,
    };
    const onlyInB: Difference = { kind: 'file-added', path: 'fs/opt/new', layer: 0, origin: { a: null, b: 0 }, file: 'opt/new', a: null, b: entry, neutralized: false, cause: null };
    const summary = summarize([squashed, onlyInB], layers);
    expect(summary.topLayers).toEqual([
      { index: 0, step: 'RUN step 0', remaining: 2 },
      { index: 1, step: 'RUN step 1', remaining: 1 },
    ]);
    expect(summary.topFiles).toEqual([
      { layer: null, file: 'opt/app/app.conf', attributes: ['content'] },
      { layer: null, file: 'opt/new', attributes: ['added'] },
    ]);
    expect([...countBlockingByLayer([squashed, onlyInB, { ...squashed, accepted: { rule: 'accept[0]', reason: 'ok' } }])]).toEqual([
      [1, 1],
      [0, 2],
    ]);
  });

  it('counts omitted neutralized differences as if listed; a cause with none listed takes its title from the catalogue', () => {
    const mtime = { id: 'file-mtime', title: 'file modification times differ' };
    const listed = [
      fileDifference(1, 'a', 'mtime', { neutralized: true, cause: mtime }),
      fileDifference(2, 'usr/bin/app', 'mode'),
    ];
    const omitted = [
      { scope: 'layers/1' as const, cause: 'file-mtime', count: 500 },
      { scope: 'layers/2' as const, cause: 'owner-names', count: 7 },
    ];
    const summary = summarize(listed, layers, {}, omitted);
    expect(summary).toMatchObject({ differences: 509, remaining: 1, neutralized: 508, accepted: 0, unexplained: 1 });
    expect(summary.byCause).toEqual([
      { cause: unknownCauseId, title: 'no known cause', count: 1, neutralized: 0, accepted: 0 },
      { cause: 'file-mtime', title: mtime.title, count: 501, neutralized: 501, accepted: 0 },
      { cause: 'owner-names', title: expect.stringContaining('owner'), count: 7, neutralized: 7, accepted: 0, hint: expect.any(String) },
    ]);
    // Omitted differences never block: the top lists are those of the listed ones.
    expect(summary.topLayers).toEqual(summarize(listed, layers).topLayers);
    expect(summary.topFiles).toEqual(summarize(listed, layers).topFiles);
  });

  it('is empty for no differences', () => {
    expect(summarize([], layers)).toEqual({
      differences: 0,
      remaining: 0,
      neutralized: 0,
      accepted: 0,
      unexplained: 0,
      byCause: [],
      topLayers: [],
      topFiles: [],
    });
  });

  it('names file changes in one word', () => {
    expect(describeFileChange(fileDifference(0, 'a', 'xattr', { key: 'security.capability' }))).toBe('xattr:security.capability');
    expect(describeFileChange({ kind: 'file-removed', path: 'layers/0/a', file: 'a', a: entry, b: null, neutralized: false, cause: null })).toBe(
      'removed',
    );
  });

  it('summarizes the fixed report as its renderers show it', () => {
    const report = buildFixedReport();
    expect(report.summary).toMatchObject({ differences: 13, remaining: 5, neutralized: 8, accepted: 1, unexplained: 1 });
    expect(report.summary.byCause.slice(0, 4).map((count) => count.cause)).toEqual([
      'apt-logs',
      'layer-diff-ids',
      'ldconfig-aux-cache',
      unknownCauseId,
    ]);
    // Five remaining, one of them accepted by the policy: four still block, all in layer 1.
    expect(report.summary.topLayers).toEqual([{ index: 1, step: expect.stringContaining('RUN apt-get'), remaining: 3 }]);
  });
});
