// A fixed, hand-made verify report for renderer goldens and schema tests: two buildah builds of
// `FROM debian` + `RUN apt-get install python3`, compared after the comparer's raw differences
// went through the causes catalogue, a policy, the summary and the gate, as verify does.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { explainDifferences } from '../../src/causes/match.js';
import { applyPolicy, decideGate, parsePolicy } from '../../src/gate/policy.js';
import type { ImageSide, Report } from '../../src/report/model.js';
import type { LayerComparison, LayerSide } from '../../src/diff/layers.js';
import type { Difference } from '../../src/diff/model.js';
import { summarize } from '../../src/report/summary.js';
import { checkGolden as checkGoldenFile } from '../helpers/golden.js';
import { sha256Of } from '../helpers/digest.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A stable fake digest per label. */
export function fakeDigest(label: string): string {
  return sha256Of(label);
}

const historyLogDiff = [
  '--- a/var/log/apt/history.log',
  '+++ b/var/log/apt/history.log',
  '@@ -1,5 +1,5 @@',
  ' ',
  '-Start-Date: 2024-05-01  10:03:12',
  '+Start-Date: 2024-05-01  10:09:47',
  ' Commandline: apt-get install -y --no-install-recommends python3',
  ' Install: python3:amd64 (3.11.2-1+b1), libpython3.11-stdlib:amd64 (3.11.2-6), python3.11:amd64 (3.11.2-6)',
  '-End-Date: 2024-05-01  10:03:20',
  '+End-Date: 2024-05-01  10:09:55',
  '',
].join('\n');

const step0 = 'ADD file:5b1e63a3cb041177b802b501dedcd71a86f1773ea0f69f048f2eb3901097711d in /';
const step1 =
  'RUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/* && install -m 0755 /src/entrypoint.sh /usr/local/bin/';

/** The comparer's output: every cause null, as src/compare produces them. */
export function rawDifferences(): Difference[] {
  const base = { cause: null } as const;
  return [
    { ...base, kind: 'config-field', path: '/created', a: '2024-05-01T10:03:25.118Z', b: '2024-05-01T10:10:01.904Z', neutralized: true },
    { ...base, kind: 'config-field', path: '/history/1/created', a: '2024-05-01T10:03:21.5Z', b: '2024-05-01T10:09:58.2Z', neutralized: true },
    { ...base, kind: 'config-field', path: '/container', a: `f3a9c0d1e2${'4'.repeat(54)}`, b: `0b7e6d5c4a${'8'.repeat(54)}`, neutralized: true },
    {
      ...base,
      kind: 'config-field',
      path: '/config/Labels/org.opencontainers.image.created',
      a: '2024-05-01T10:03:25Z',
      b: '2024-05-01T10:10:01Z',
      neutralized: true,
    },
    { ...base, kind: 'config-field', path: '/rootfs/diff_ids/1', a: fakeDigest('a-diffid-1'), b: fakeDigest('b-diffid-1'), neutralized: false },
    { ...base, kind: 'layer-compression', path: 'layers/0', layer: 0, a: fakeDigest('a-blob-0'), b: fakeDigest('b-blob-0'), neutralized: true },
    {
      ...base,
      kind: 'file-attribute',
      path: 'layers/1/usr/lib/python3.11/__pycache__/ssl.cpython-311.pyc#content',
      layer: 1,
      file: 'usr/lib/python3.11/__pycache__/ssl.cpython-311.pyc',
      attribute: 'content',
      a: fakeDigest('a-ssl.pyc'),
      b: fakeDigest('b-ssl.pyc'),
      neutralized: false,
      detail: { format: 'binary', sizeA: 64218, sizeB: 64218, digestA: fakeDigest('a-ssl.pyc'), digestB: fakeDigest('b-ssl.pyc') },
    },
    {
      ...base,
      kind: 'file-attribute',
      path: 'layers/1/usr/lib/python3.11/__pycache__/ssl.cpython-311.pyc#mtime',
      layer: 1,
      file: 'usr/lib/python3.11/__pycache__/ssl.cpython-311.pyc',
      attribute: 'mtime',
      a: 1714557801,
      b: 1714558197,
      neutralized: true,
    },
    {
      ...base,
      kind: 'file-attribute',
      path: 'layers/1/usr/local/bin/entrypoint.sh#mode',
      layer: 1,
      file: 'usr/local/bin/entrypoint.sh',
      attribute: 'mode',
      a: 0o755,
      b: 0o644,
      neutralized: false,
    },
    {
      ...base,
      kind: 'file-attribute',
      path: 'layers/1/usr/local/bin/entrypoint.sh#uname',
      layer: 1,
      file: 'usr/local/bin/entrypoint.sh',
      attribute: 'uname',
      a: 'root',
      b: '',
      neutralized: true,
    },
    {
      ...base,
      kind: 'file-attribute',
      path: 'layers/1/var/cache/ldconfig/aux-cache#content',
      layer: 1,
      file: 'var/cache/ldconfig/aux-cache',
      attribute: 'content',
      a: fakeDigest('a-aux-cache'),
      b: fakeDigest('b-aux-cache'),
      neutralized: false,
      detail: { format: 'binary', sizeA: 7012, sizeB: 7012, digestA: fakeDigest('a-aux-cache'), digestB: fakeDigest('b-aux-cache') },
    },
    {
      ...base,
      kind: 'file-attribute',
      path: 'layers/1/var/log/apt/history.log#content',
      layer: 1,
      file: 'var/log/apt/history.log',
      attribute: 'content',
      a: fakeDigest('a-history.log'),
      b: fakeDigest('b-history.log'),
      neutralized: false,
      detail: { format: 'unified', diff: historyLogDiff },
    },
    {
      ...base,
      kind: 'file-attribute',
      path: 'layers/1/var/log/apt/history.log#mtime',
      layer: 1,
      file: 'var/log/apt/history.log',
      attribute: 'mtime',
      a: 1714557800,
      b: 1714558195,
      neutralized: true,
    },
  ];
}

export const fixedPolicyText = `version: 1
accept:
  - causes: [pyc-header]
    reason: bytecode caches are rebuilt on first import
`;

function layerSide(side: 'a' | 'b', index: number, step: string, shared: { blob: boolean; diffId: boolean; canonical: boolean }): LayerSide {
  const pick = (shares: boolean, what: string) => fakeDigest(shares ? `${what}-${index}` : `${side}-${what}-${index}`);
  return {
    index,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: pick(shared.blob, 'blob'),
    size: index === 0 ? 29_152_311 : 7_843_102 + (side === 'b' ? 17 : 0),
    diffId: pick(shared.diffId, 'diffid'),
    foreign: false,
    step,
    canonicalDiffId: pick(shared.canonical, 'canonical'),
  };
}

function imageSide(side: 'a' | 'b'): ImageSide {
  return {
    reference: `oci-archive:build-${side}.tar`,
    transport: 'oci-archive',
    manifestDigest: fakeDigest(`${side}-manifest`),
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    indexDigest: null,
    imageId: fakeDigest(`${side}-config`),
    platform: 'linux/amd64',
    created: side === 'a' ? '2024-05-01T10:03:25.118Z' : '2024-05-01T10:10:01.904Z',
    canonicalDigest: fakeDigest(`${side}-canonical`),
    layers: [
      layerSide(side, 0, step0, { blob: false, diffId: true, canonical: true }),
      layerSide(side, 1, step1, { blob: false, diffId: false, canonical: false }),
    ],
  };
}

export function buildFixedReport(differences: Difference[] = rawDifferences()): Report {
  const a = imageSide('a');
  const b = imageSide('b');
  const layers: LayerComparison[] = [
    { index: 0, status: 'compression', step: step0, a: a.layers[0] ?? null, b: b.layers[0] ?? null, counts: { added: 0, removed: 0, changed: 0 } },
    { index: 1, status: 'content', step: step1, a: a.layers[1] ?? null, b: b.layers[1] ?? null, counts: { added: 0, removed: 0, changed: 4 } },
  ];
  const policy = parsePolicy(fixedPolicyText, 'policy.yaml');
  const explained = applyPolicy(explainDifferences(differences), policy);
  const verdict = 'not-reproducible' as const;
  const gate = decideGate({ verdict, differences: explained, strict: false });
  return {
    schemaVersion: 1,
    tool: { name: 'oci-repro', version: '0.1.0' },
    verdict,
    reason: gate.reason,
    passed: gate.passed,
    options: { epoch: 0, timestampMode: 'set', disabledRules: [], strict: false, policy: 'policy.yaml' },
    a,
    b,
    flattened: false,
    layers,
    summary: summarize(explained, layers),
    differences: explained,
  };
}

/** Compares output with golden/reports/<name> (see test/helpers/golden.ts). */
export function checkGolden(name: string, actual: string, skip: (note: string) => void): Promise<string> {
  return checkGoldenFile(`reports/${name}`, actual, skip);
}
