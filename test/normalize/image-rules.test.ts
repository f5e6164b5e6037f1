/**
 * Normalization rules at the level a user sees: whole images loaded from archives, as `oci-repro
 * normalize` reads them. Every pair is a base image and a variant differing in one kind of noise:
 * raw digests differ, canonical digests are equal, and turning the responsible rule off makes them
 * differ again (so the rule, not luck, made them equal). Negative pairs differ in content and must
 * keep different canonical digests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImage } from '../../src/sources/index.js';
import { normalizeImage, type NormalizeResult } from '../../src/app/normalize.js';
import {
  configRuleNames,
  defaultNormalizeOptions,
  layerRuleNames,
  type LayerRuleName,
  type NormalizeOptions,
  type RuleName,
} from '../../src/normalize/options.js';
import { TempDir, type BuiltImage } from '../helpers/images.js';
import { skipWithoutTools } from '../helpers/real-tools.js';
import {
  buildFixture,
  editConfig,
  editEntry,
  inputForms,
  mapLayers,
  withWriterRecords,
  writeInForm,
  type FixtureSpec,
  type LayerPacking,
} from '../helpers/noise.js';
import {
  baseTime,
  readTar,
  reversed,
  shuffled,
  withDotSlash,
  withExtraTimes,
  withHardlinkCarrier,
  withLeadingSlash,
  withMtimes,
  withOwnerNames,
  withSubSecondMtimes,
  type TestEntry,
} from '../helpers/tar.js';
import { runCli } from '../helpers/cli.js';

const allRules: RuleName[] = [...configRuleNames, ...layerRuleNames];

// ---------------------------------------------------------------------------------------------
// The base image: two layers and Docker-schema config fields, so every rule has something to do.

const longDir = `usr/share/${'long-directory-name-'.repeat(4)}`;
/** Over 100 bytes: a USTAR prefix, or a GNU 'L' header. */
const prefixPath = `${longDir}/${'f'.repeat(80)}.txt`;
/** Over 256 bytes: a PAX path record, or a GNU 'L' header. */
const paxPath = `${longDir}/${'g'.repeat(200)}.txt`;
const longTarget = `/opt/${'target/'.repeat(20)}end`;
/** A vfs_cap_data v2 value (cap_net_raw=ep), as setcap writes it: binary, with NUL bytes. */
const capNetRaw = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const capNetAdmin = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const later = new Date('2024-05-06T07:08:09Z');

const lowerLayer: TestEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/hostname', content: 'base\n' },
  { name: 'etc/os-release', content: 'ID=test\n' },
  { name: 'opt/', type: 'directory' },
  { name: 'opt/link-to-long', type: 'symlink', linkname: longTarget },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/sh', type: 'symlink', linkname: '/bin/busybox' },
  { name: 'usr/bin/tool', content: Buffer.alloc(3000, 7), mode: 0o4755, uid: 1000, gid: 1000 },
  { name: 'usr/bin/tool-alias', type: 'link', linkname: 'usr/bin/tool' },
  // Same bytes as tool, but its own inode: a hardlink retargeted here is a real change.
  { name: 'usr/bin/tool-copy', content: Buffer.alloc(3000, 7), mode: 0o4755, uid: 1000, gid: 1000 },
  { name: 'usr/share/', type: 'directory' },
  { name: `${longDir}/`, type: 'directory' },
  { name: prefixPath, content: 'prefix' },
  { name: paxPath, content: 'pax' },
];

const upperLayer: TestEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/.wh.os-release', content: '' },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/ping', content: 'ping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': capNetRaw } },
  { name: 'var/', type: 'directory' },
  { name: 'var/cache/', type: 'directory' },
  { name: 'var/cache/.wh..wh..opq', content: '' },
  { name: 'var/cache/fresh', content: 'fresh\n' },
];

const createdLabel = 'org.opencontainers.image.created';

const base: FixtureSpec = {
  mediaTypes: 'docker',
  layers: [
    { entries: lowerLayer, createdBy: '/bin/sh -c #(nop) ADD rootfs.tar /' },
    { entries: upperLayer, createdBy: '/bin/sh -c setcap cap_net_raw+ep /usr/bin/ping' },
  ],
  emptyHistoryBefore: { 1: ['/bin/sh -c #(nop) ENV A=1'] },
  editConfig: (config) => {
    const runConfig = (hostname: string) => ({
      Hostname: hostname,
      Domainname: '',
      Env: ['PATH=/usr/bin:/bin', 'A=1'],
      Cmd: ['/bin/sh'],
      Image: 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
      Labels: { [createdLabel]: '2024-01-02T03:04:05Z', maintainer: 'me' },
    });
    config.container = 'c12fdf856db7ae8e2eec23dda93ab3d13acad10f9c57c4e9470423307b770fda';
    config.container_config = runConfig('1fbe67008cca');
    config.config = runConfig('1fbe67008cca');
    config.docker_version = '24.0.7';
    config.parent = 'sha256:8cd36f0dd5cc06ef8ba3699d9f143cddf98a2397f0aecf54e80f8d58f2e56d98';
    config.history[1].comment = 'FROM 561cd65be29c';
  },
};

// ---------------------------------------------------------------------------------------------
// Running normalize on built images

let dir: TempDir;
let counter = 0;
const builtRefs = new Map<FixtureSpec, Promise<{ image: BuiltImage; ref: string }>>();

/** Builds a spec once and writes it as a Docker 25+ archive (the form `docker save` writes today). */
function materialize(spec: FixtureSpec): Promise<{ image: BuiltImage; ref: string }> {
  let made = builtRefs.get(spec);
  if (!made) {
    made = buildFixture(spec).then(async (image) => ({ image, ref: await writeInForm(dir, `image-${counter++}`, image, 'docker-archive (Docker 25+)') }));
    builtRefs.set(spec, made);
  }
  return made;
}

function options(change: Partial<NormalizeOptions> & { disable?: RuleName[] } = {}): NormalizeOptions {
  const { disable, ...rest } = change;
  return { ...defaultNormalizeOptions, ...rest, disabledRules: new Set(disable ?? []) };
}

async function normalizeSpec(spec: FixtureSpec, change: Parameters<typeof options>[0] = {}): Promise<NormalizeResult> {
  const { ref } = await materialize(spec);
  return normalizeImage({ source: ref, normalize: options(change) });
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-image-rules-');
});
afterAll(async () => dir?.remove());

// ---------------------------------------------------------------------------------------------
// Positive pairs

interface NoisePair {
  name: string;
  variant: FixtureSpec;
  /** The rules that remove this noise: turning any one off must make the pair differ. */
  rules: RuleName[];
  /** Rules the variant also needs (it also moves entries, ...), left on when testing `rules` alone. */
  alsoNeeds?: RuleName[];
  /** JSON pointers the variant's `applied` must list under each of `rules` (config rules only). */
  pointers?: string[];
}

const allLayersNoise = (noise: (entries: TestEntry[]) => TestEntry[]) => mapLayers(base, noise);
const setConfig = (edit: (config: Record<string, any>) => void) => editConfig(base, edit);

const layerPairs: NoisePair[] = [
  { name: 'one other mtime on every entry', variant: allLayersNoise((e) => withMtimes(e, later)), rules: ['mtime'] },
  {
    name: 'a different mtime per entry',
    variant: allLayersNoise((e) => withMtimes(e, (_entry, i) => new Date(Date.UTC(2022, 0, 1, 0, 0, i)))),
    rules: ['mtime'],
  },
  { name: 'sub-second mtimes in PAX records', variant: allLayersNoise(withSubSecondMtimes), rules: ['mtime'] },
  { name: 'entries in reverse order', variant: allLayersNoise(reversed), rules: ['entry-order'] },
  { name: 'entries shuffled', variant: allLayersNoise((e) => shuffled(e, 11)), rules: ['entry-order'] },
  { name: 'atime/ctime PAX records', variant: allLayersNoise((e) => withExtraTimes(e)), rules: ['extra-times'] },
  { name: 'owner names (uname/gname)', variant: allLayersNoise((e) => withOwnerNames(e)), rules: ['owner-names'] },
  { name: 'writer PAX records (SCHILY.ino, ...)', variant: allLayersNoise((e) => withWriterRecords(e)), rules: ['tar-dialect'] },
  { name: './ in front of every path', variant: allLayersNoise(withDotSlash), rules: ['path-spelling'] },
  { name: 'a leading / on every path', variant: allLayersNoise(withLeadingSlash), rules: ['path-spelling'] },
  {
    name: 'the hardlink group carried by the other path',
    variant: mapLayers(base, (e) => withHardlinkCarrier(e, 'usr/bin/tool-alias'), [0]),
    rules: ['hardlinks'],
    // withHardlinkCarrier moves the group to the end of the tar.
    alsoNeeds: ['entry-order'],
  },
  {
    name: 'stale versions of two paths earlier in the layer (last wins)',
    variant: mapLayers(base, (e) => [{ name: 'etc/hostname', content: 'stale\n' }, { name: 'usr/bin/tool', content: 'old' }, ...e], [0]),
    rules: ['duplicate-paths'],
    alsoNeeds: ['entry-order'],
  },
];

const configPairs: NoisePair[] = [
  { name: 'config created', variant: setConfig((c) => (c.created = '2025-06-07T08:09:10.123456789Z')), rules: ['config-created'], pointers: ['/created'] },
  {
    name: 'history dates',
    variant: setConfig((c) => c.history.forEach((h: Record<string, unknown>, i: number) => (h.created = `2025-06-07T08:09:1${i}.5Z`))),
    rules: ['history-created'],
    pointers: ['/history/0/created', '/history/1/created', '/history/2/created'],
  },
  { name: 'container (build container ID)', variant: setConfig((c) => (c.container = '3cb727beda4b1cb99fd71433ad60b1301bfe177261385a5ef5248ee3b508e37a')), rules: ['host-fields'], pointers: ['/container'] },
  // container_config is builder state: the container-config rule drops it whole, whatever it holds (with
  // it disabled, host-fields and created-label still blank its Hostname, Image and label: config.test.ts).
  {
    name: 'container_config.Cmd (the build step, not the image command)',
    variant: setConfig((c) => (c.container_config.Cmd = ['/bin/sh', '-c', '#(nop) ', 'CMD ["/bin/sh"]'])),
    rules: ['container-config'],
    pointers: ['/container_config'],
  },
  { name: 'config.Hostname', variant: setConfig((c) => (c.config.Hostname = '67786d0a2afa')), rules: ['host-fields'], pointers: ['/config/Hostname'] },
  { name: 'docker_version', variant: setConfig((c) => (c.docker_version = '25.0.3')), rules: ['host-fields'], pointers: ['/docker_version'] },
  { name: 'parent (intermediate image ID)', variant: setConfig((c) => (c.parent = 'sha256:05f899c3c66331b19cb8c69d71278a13ec0ad908c400c8a57866fc1c6113737c')), rules: ['host-fields'], pointers: ['/parent'] },
  {
    name: 'zero values spelled out or omitted (Tty: false, no Domainname, empty_layer: false)',
    variant: setConfig((c) => {
      c.config.Tty = false;
      delete c.config.Domainname;
      c.history[0].empty_layer = false;
    }),
    rules: ['empty-values'],
    pointers: ['/config/Tty', '/history/0/empty_layer'],
  },
  { name: '"FROM <intermediate id>" history comment', variant: setConfig((c) => (c.history[1].comment = 'FROM 77b29a0891ce')), rules: ['host-fields'], pointers: ['/history/1/comment'] },
  {
    name: 'created label in config.Labels',
    variant: setConfig((c) => (c.config.Labels[createdLabel] = '2025-06-07T08:09:10Z')),
    rules: ['created-label'],
    pointers: [`/config/Labels/${createdLabel}`],
  },
];

describe('the base image', () => {
  it('is not canonical already: every rule has something to rewrite', async () => {
    const result = await normalizeSpec(base);
    expect(result.canonicalDigest).not.toBe(result.imageId);
    expect(result.layers.every((layer) => layer.canonicalDiffId !== layer.diffId)).toBe(true);
    expect(result.applied.map((rule) => rule.rule).sort()).toEqual([...configRuleNames].sort());
  });
});

const pairCases = [...layerPairs.map((pair) => ({ kind: 'layer' as const, pair })), ...configPairs.map((pair) => ({ kind: 'config' as const, pair }))];

for (const { kind, pair } of pairCases) {
  describe(`${kind} noise: ${pair.name}`, () => {
    it('changes the image ID, not the canonical digest', async () => {
      const [a, b] = await Promise.all([normalizeSpec(base), normalizeSpec(pair.variant)]);
      expect(b.imageId).not.toBe(a.imageId);
      expect(b.canonicalDigest).toBe(a.canonicalDigest);
      expect(b.layers.map((l) => l.canonicalDiffId)).toEqual(a.layers.map((l) => l.canonicalDiffId));
      if (kind === 'layer') expect(b.layers.map((l) => l.diffId)).not.toEqual(a.layers.map((l) => l.diffId));
    });

    it.each(pair.rules)('differs again with %s disabled', async (rule) => {
      const [a, b] = await Promise.all([normalizeSpec(base, { disable: [rule] }), normalizeSpec(pair.variant, { disable: [rule] })]);
      expect(b.canonicalDigest).not.toBe(a.canonicalDigest);
      expect(b.applied.map((r) => r.rule)).not.toContain(rule);
    });

    it('is equal with every other rule disabled: these rules alone remove the noise', async () => {
      const keep = new Set<RuleName>([...pair.rules, ...(pair.alsoNeeds ?? []), ...(kind === 'layer' ? (['diff-ids'] as const) : [])]);
      const disable = allRules.filter((rule) => !keep.has(rule));
      const [a, b] = await Promise.all([normalizeSpec(base, { disable }), normalizeSpec(pair.variant, { disable })]);
      expect(b.canonicalDigest).toBe(a.canonicalDigest);
    });

    it('names what it rewrote in applied', async () => {
      const result = await normalizeSpec(pair.variant);
      const byRule = new Map(result.applied.map((rule) => [rule.rule, rule.paths]));
      if (kind === 'layer') {
        // Layer rules act inside the tar; the config shows them as the replaced diff_ids.
        const changed = result.layers.filter((l) => l.diffId !== l.canonicalDiffId).map((l) => `/rootfs/diff_ids/${l.index}`);
        expect(changed.length).toBeGreaterThan(0);
        expect(byRule.get('diff-ids')).toEqual(changed);
      }
      for (const rule of kind === 'config' ? pair.rules : []) {
        expect(byRule.get(rule)).toEqual(expect.arrayContaining(pair.pointers!));
      }
    });
  });
}

describe('tar dialect is no rule: the canonical writer has one dialect', () => {
  const gnu = { ...base, layers: [{ ...base.layers[0], dialect: 'gnu' as const }, base.layers[1]] };
  const pax = { ...base, layers: [{ ...base.layers[0], dialect: 'pax' as const }, base.layers[1]] };

  it.each([
    ['GNU long names (L/K headers)', gnu],
    ['a PAX header on every entry', pax],
  ])('%s: other diff_id, same canonical digest, even with every layer rule disabled', async (_name, variant) => {
    for (const disable of [[], [...layerRuleNames]] as RuleName[][]) {
      const [a, b] = await Promise.all([normalizeSpec(base, { disable }), normalizeSpec(variant, { disable })]);
      expect(b.layers[0].diffId).not.toBe(a.layers[0].diffId);
      expect(b.canonicalDigest).toBe(a.canonicalDigest);
      // Nor is it listed as the 'tar-dialect' rule, which only drops writer-specific PAX records.
      expect(b.layers[0].applied).toEqual(a.layers[0].applied);
    }
  });
});

describe('diff-ids', () => {
  it('with the rule disabled the raw diff_ids stay, so layer noise shows again', async () => {
    const variant = layerPairs[0].variant;
    const [a, b] = await Promise.all([normalizeSpec(base, { disable: ['diff-ids'] }), normalizeSpec(variant, { disable: ['diff-ids'] })]);
    expect(b.layers.map((l) => l.canonicalDiffId)).toEqual(a.layers.map((l) => l.canonicalDiffId));
    expect(b.canonicalDigest).not.toBe(a.canonicalDigest);
    expect(b.applied.map((r) => r.rule)).not.toContain('diff-ids');
  });
});

// ---------------------------------------------------------------------------------------------
// Layer rules listed per layer: which rule changed what, counted from the pass's table

describe('layers[].applied: the layer rules that changed each layer, with entry counts', () => {
  /** The base with every mtime at the epoch (0): no layer rule has anything to do. */
  const canonical = mapLayers(base, (e) => withMtimes(e, new Date(0)));
  const noisy = (noise: (entries: TestEntry[]) => TestEntry[], only?: number[]) => mapLayers(canonical, noise, only);
  type Listed = { rule: LayerRuleName; entries: number; examples?: string[] };
  /** Per layer, what `applied` lists; examples are checked only where given. */
  const listed = (result: NormalizeResult, wanted: Listed[][]) => {
    expect(result.layers.map((layer) => layer.applied.map(({ rule, entries }) => ({ rule, entries })))).toEqual(
      wanted.map((layer) => layer.map(({ rule, entries }) => ({ rule, entries }))),
    );
    wanted.forEach((layer, i) =>
      layer.forEach(({ rule, examples }) => {
        if (examples) expect(result.layers[i].applied.find((a) => a.rule === rule)!.examples, `layer ${i} ${rule}`).toEqual(examples);
      }),
    );
  };
  const everyEntry = (rule: LayerRuleName, result: NormalizeResult): Listed[][] =>
    result.layers.map((layer) => [{ rule, entries: layer.entries }]);
  const [lowerCount, upperCount] = [lowerLayer.length, upperLayer.length];

  it('an already canonical image lists none; the base (mtimes not at the epoch) lists mtime on every entry', async () => {
    const [none, b] = await Promise.all([normalizeSpec(canonical), normalizeSpec(base)]);
    listed(none, [[], []]);
    expect(none.layers.map((layer) => layer.entries)).toEqual([lowerCount, upperCount]);
    listed(b, [[{ rule: 'mtime', entries: lowerCount, examples: ['etc/', 'etc/hostname', 'etc/os-release'] }], [{ rule: 'mtime', entries: upperCount }]]);
  });

  const cases: { name: string; variant: FixtureSpec; rule: LayerRuleName; change?: Parameters<typeof options>[0]; want: (r: NormalizeResult) => Listed[][] }[] = [
    { name: 'mtime: another mtime', variant: noisy((e) => withMtimes(e, later)), rule: 'mtime', want: (r) => everyEntry('mtime', r) },
    {
      name: 'mtime: sub-second times, clamped to an epoch after all of them (only the fraction goes)',
      variant: noisy(withSubSecondMtimes),
      rule: 'mtime',
      change: { epoch: 1900000000, timestampMode: 'clamp' },
      want: (r) => everyEntry('mtime', r),
    },
    { name: 'extra-times', variant: noisy((e) => withExtraTimes(e)), rule: 'extra-times', want: (r) => everyEntry('extra-times', r) },
    { name: 'owner-names', variant: noisy((e) => withOwnerNames(e)), rule: 'owner-names', want: (r) => everyEntry('owner-names', r) },
    {
      name: 'tar-dialect: writer PAX records',
      variant: noisy((e) => withWriterRecords(e)),
      rule: 'tar-dialect',
      want: () => [
        [{ rule: 'tar-dialect', entries: lowerCount, examples: ['etc/', 'etc/hostname', 'etc/os-release'] }],
        [{ rule: 'tar-dialect', entries: upperCount, examples: ['etc/', 'etc/.wh.os-release', 'usr/'] }],
      ],
    },
    {
      name: 'entry-order: one entry moved to the end of layer 0, layer 1 reversed',
      variant: mapLayers(noisy((e) => [...e.filter((x) => x.name !== 'etc/hostname'), e.find((x) => x.name === 'etc/hostname')!], [0]), reversed, [1]),
      rule: 'entry-order',
      // Reversing a sorted layer without links leaves one entry in place.
      want: () => [[{ rule: 'entry-order', entries: 1, examples: ['etc/hostname'] }], [{ rule: 'entry-order', entries: upperCount - 1 }]],
    },
    {
      name: 'hardlinks: the group carried by its other path (moved to the end, so entry-order too)',
      variant: noisy((e) => withHardlinkCarrier(e, 'usr/bin/tool-alias'), [0]),
      rule: 'hardlinks',
      want: () => [
        [
          { rule: 'entry-order', entries: 2 },
          { rule: 'hardlinks', entries: 2, examples: ['usr/bin/tool'] },
        ],
        [],
      ],
    },
    {
      name: 'duplicate-paths: three stale entries of two paths first (already in order once they are dropped)',
      variant: noisy(
        (e) => [{ name: 'etc/hostname', content: 'stale\n' }, { name: 'etc/hostname', content: 'staler\n' }, { name: 'usr/bin/tool', content: 'old' }, ...e],
        [0],
      ),
      rule: 'duplicate-paths',
      want: () => [[{ rule: 'duplicate-paths', entries: 3, examples: ['etc/hostname', 'usr/bin/tool'] }], []],
    },
  ];

  describe.each(cases)('$name', ({ variant, rule, change, want }) => {
    it('lists the rule with the entries it changed, and nothing else', async () => {
      const result = await normalizeSpec(variant, change);
      listed(result, want(result));
    });

    it('is not listed with the rule disabled', async () => {
      const result = await normalizeSpec(variant, { ...change, disable: [rule] });
      const rules = result.layers.flatMap((layer) => layer.applied.map((applied) => applied.rule));
      expect(rules).not.toContain(rule);
      // The other rules the noise needs are still listed.
      const others = want(await normalizeSpec(variant, change)).flat().filter((item) => item.rule !== rule);
      for (const { rule: other } of others) expect(rules).toContain(other);
    });
  });

  it('--clamp counts only the mtimes after the epoch; set counts every one', async () => {
    const epoch = Date.UTC(2023, 0, 1) / 1000;
    const isLater = (entry: TestEntry) => entry.name.startsWith('usr/');
    // Hardlinks share their target's mtime, so later and earlier times split by directory.
    const mixed = noisy((e) => e.map((entry) => ({ ...entry, mtime: isLater(entry) ? later : baseTime })));
    const [clamped, set, future] = await Promise.all([
      normalizeSpec(mixed, { epoch, timestampMode: 'clamp' }),
      normalizeSpec(mixed, { epoch }),
      normalizeSpec(mixed, { epoch: 1900000000, timestampMode: 'clamp' }),
    ]);
    listed(clamped, [
      [{ rule: 'mtime', entries: lowerLayer.filter(isLater).length, examples: ['usr/', 'usr/bin/', 'usr/bin/sh'] }],
      [{ rule: 'mtime', entries: upperLayer.filter(isLater).length }],
    ]);
    listed(set, everyEntry('mtime', set));
    // Whole seconds before the epoch stay as they are (the sub-second case above is rewritten).
    listed(future, [[], []]);
  });
});

// ---------------------------------------------------------------------------------------------
// Negative pairs: real changes are never normalized away

const negativePairs: [string, FixtureSpec][] = [
  ['file content', editEntry(base, 0, 'etc/hostname', (e) => ({ ...e, content: 'other\n' }))],
  ['file mode', editEntry(base, 0, 'usr/bin/tool', (e) => ({ ...e, mode: 0o755 }))],
  ['directory mode', editEntry(base, 0, 'etc/', (e) => ({ ...e, mode: 0o700 }))],
  ['uid', editEntry(base, 0, 'usr/bin/tool', (e) => ({ ...e, uid: 1001 }))],
  ['gid', editEntry(base, 0, 'usr/bin/tool', (e) => ({ ...e, gid: 1001 }))],
  ['xattr value (another capability)', editEntry(base, 1, 'usr/bin/ping', (e) => ({ ...e, pax: { 'SCHILY.xattr.security.capability': capNetAdmin } }))],
  ['xattr removed', editEntry(base, 1, 'usr/bin/ping', (e) => ({ ...e, pax: undefined }))],
  ['symlink target', editEntry(base, 0, 'usr/bin/sh', (e) => ({ ...e, linkname: '/bin/dash' }))],
  ['long symlink target', editEntry(base, 0, 'opt/link-to-long', (e) => ({ ...e, linkname: `${longTarget}2` }))],
  ['hardlink made an independent copy', editEntry(base, 0, 'usr/bin/tool-alias', (e) => ({ ...e, type: 'file', linkname: undefined, content: Buffer.alloc(3000, 7), mode: 0o4755, uid: 1000, gid: 1000 }))],
  ['hardlink to another file with the same bytes', editEntry(base, 0, 'usr/bin/tool-alias', (e) => ({ ...e, linkname: 'usr/bin/tool-copy' }))],
  ['whiteout removed', editEntry(base, 1, 'etc/.wh.os-release', () => null)],
  ['whiteout of another path', editEntry(base, 1, 'etc/.wh.os-release', (e) => ({ ...e, name: 'etc/.wh.hostname' }))],
  ['opaque whiteout removed', editEntry(base, 1, 'var/cache/.wh..wh..opq', () => null)],
  ['a long path renamed', editEntry(base, 0, paxPath, (e) => ({ ...e, name: `${paxPath}.bak` }))],
  ['an empty file added', mapLayers(base, (e) => [...e, { name: 'var/cache/empty', content: '' }], [1])],
  ['a stale duplicate last (it wins)', mapLayers(base, (e) => [...e, { name: 'etc/hostname', content: 'stale\n' }], [0])],
  ['layers in the other order', { ...base, layers: [base.layers[1], base.layers[0]] }],
  ['Env', editConfig(base, (c) => c.config.Env.push('B=2'))],
  ['Cmd', editConfig(base, (c) => (c.config.Cmd = ['/bin/bash']))],
  ['a label other than the created date', editConfig(base, (c) => (c.config.Labels.maintainer = 'you'))],
  ['Domainname (set on purpose, not by the host)', editConfig(base, (c) => (c.config.Domainname = 'example.com'))],
  ['a history step', editConfig(base, (c) => (c.history[0].created_by = '/bin/sh -c #(nop) ADD other.tar /'))],
  ['an extra empty_layer history entry', { ...base, emptyHistoryBefore: { 1: ['/bin/sh -c #(nop) ENV A=1', '/bin/sh -c #(nop) LABEL x=y'] } }],
  ['architecture', { ...base, architecture: 'arm64' }],
];

describe('negative pairs: a real change keeps its own canonical digest', () => {
  it.each(negativePairs)('%s', async (_name, variant) => {
    const [a, b] = await Promise.all([normalizeSpec(base), normalizeSpec(variant)]);
    expect(b.imageId).not.toBe(a.imageId);
    expect(b.canonicalDigest).not.toBe(a.canonicalDigest);
  });

  it('the stale duplicate first is noise, last is content', async () => {
    const staleFirst = mapLayers(base, (e) => [{ name: 'etc/hostname', content: 'stale\n' }, ...e], [0]);
    const staleLast = negativePairs.find(([name]) => name.startsWith('a stale duplicate last'))![1];
    const [a, first, last] = await Promise.all([normalizeSpec(base), normalizeSpec(staleFirst), normalizeSpec(staleLast)]);
    expect(first.canonicalDigest).toBe(a.canonicalDigest);
    expect(last.canonicalDigest).not.toBe(a.canonicalDigest);
  });
});

// ---------------------------------------------------------------------------------------------
// Compression and input format

/** The OCI form of the base, with no Docker-only fields: what every format can carry unchanged. */
const ociBase: FixtureSpec = { ...base, mediaTypes: 'oci', editConfig: undefined };
const packed = (packing: LayerPacking): FixtureSpec => ({ ...ociBase, packing });

describe('compression of the input: the raw digests differ, the canonical digest does not', () => {
  const packings: [string, LayerPacking][] = [
    ['gzip -6, empty header', { kind: 'gzip' }],
    ['gzip -1', { kind: 'gzip', level: 1 }],
    ['gzip -9', { kind: 'gzip', level: 9 }],
    ['gzip header with a file name and mtime', { kind: 'gzip', name: 'layer.tar', mtime: 1700000000 }],
    ['gzip header written on another OS (OS byte 11)', { kind: 'gzip', os: 11 }],
    ['zstd -3', { kind: 'zstd' }],
    ['zstd -19', { kind: 'zstd', level: 19 }],
    ['uncompressed', { kind: 'none' }],
  ];

  it('every packing gives its own layer digests and the same image ID and canonical digest', async () => {
    const results = await Promise.all(
      packings.map(async ([name, packing]) => {
        const spec = packed(packing);
        const { image } = await materialize(spec);
        return { name, image, result: await normalizeSpec(spec) };
      }),
    );
    const layerDigests = new Set(results.map(({ image }) => image.layers.map((l) => l.digest).join()));
    expect(layerDigests.size, 'each packing writes other layer blobs').toBe(packings.length);
    expect(new Set(results.map(({ result }) => result.manifestDigest)).size).toBe(packings.length);
    const first = results[0].result;
    for (const { name, result } of results) {
      expect(result.imageId, name).toBe(first.imageId);
      expect(result.canonicalDigest, name).toBe(first.canonicalDigest);
      expect(result.layers.map((l) => l.canonicalDiffId), name).toEqual(first.layers.map((l) => l.canonicalDiffId));
    }
  });

  describe.skipIf(skipWithoutTools('gzip', 'pigz'))('real compressors', () => {
    it('gzip -n -9 and pigz -n -1 give other blobs and the same canonical digest', async () => {
      const viaGzip = packed({ kind: 'gzip-tool', tool: 'gzip', level: 9 });
      const viaPigz = packed({ kind: 'gzip-tool', tool: 'pigz', level: 1 });
      const reference = packed({ kind: 'gzip' });
      const [g, p, r] = await Promise.all([normalizeSpec(viaGzip), normalizeSpec(viaPigz), normalizeSpec(reference)]);
      expect(new Set([g.manifestDigest, p.manifestDigest, r.manifestDigest]).size).toBe(3);
      expect(g.canonicalDigest).toBe(r.canonicalDigest);
      expect(p.canonicalDigest).toBe(r.canonicalDigest);
    });
  });
});

describe('input format: every on-disk form of one image has one canonical digest', () => {
  it.each([
    ['an OCI image', ociBase],
    ['a Docker-schema image', base],
  ])('%s in every form, gzip or zstd', async (_name, spec) => {
    const results: { form: string; result: NormalizeResult }[] = [];
    for (const packing of [{ kind: 'gzip' }, { kind: 'zstd' }] as LayerPacking[]) {
      const image = await buildFixture({ ...spec, packing });
      for (const form of inputForms) {
        const ref = await writeInForm(dir, `forms-${counter++}`, image, form);
        const result = await normalizeImage({ source: ref, normalize: options() });
        // The form loaded the image itself: same config bytes.
        expect(result.imageId, form).toBe(image.config.digest);
        results.push({ form: `${form}, ${packing.kind}`, result });
      }
    }
    const expected = results[0].result;
    for (const { form, result } of results) {
      expect(result.canonicalDigest, form).toBe(expected.canonicalDigest);
      expect(result.layers.map((l) => l.canonicalDiffId), form).toEqual(expected.layers.map((l) => l.canonicalDiffId));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The created annotation lives in the manifest: it reaches the written image, not the canonical digest

describe(`${createdLabel} manifest annotation`, () => {
  const annotated = (date: string): FixtureSpec => ({ ...ociBase, manifestAnnotations: { [createdLabel]: date, 'org.opencontainers.image.title': 't' } });
  const a = annotated('2024-01-02T03:04:05Z');
  const b = annotated('2025-06-07T08:09:10Z');

  async function writeOut(spec: FixtureSpec, disable: RuleName[] = []) {
    const { ref } = await materialize(spec);
    const output = `oci:${dir.join(`out-${counter++}`)}:latest`;
    return normalizeImage({ source: ref, normalize: options({ disable }), output });
  }

  it('differs in the manifest digest only; the written manifests are equal', async () => {
    const [ra, rb] = await Promise.all([writeOut(a), writeOut(b)]);
    expect(rb.manifestDigest).not.toBe(ra.manifestDigest);
    expect(rb.imageId).toBe(ra.imageId);
    expect(rb.canonicalDigest).toBe(ra.canonicalDigest);
    expect(rb.output!.manifestDigest).toBe(ra.output!.manifestDigest);
  });

  it('with created-label disabled the written manifests keep their dates and differ', async () => {
    const [ra, rb] = await Promise.all([writeOut(a, ['created-label']), writeOut(b, ['created-label'])]);
    expect(rb.output!.manifestDigest).not.toBe(ra.output!.manifestDigest);
    const written = await loadImage(rb.output!.reference);
    try {
      expect(written.manifest!.parsed.annotations).toEqual({ [createdLabel]: '2025-06-07T08:09:10Z', 'org.opencontainers.image.title': 't' });
    } finally {
      await written.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Epoch and clamp, checked in the written image with tar-stream

/** Entries with mtimes on both sides of `clampEpoch`. */
const clampEpoch = Date.UTC(2023, 0, 1) / 1000;
const mixedTimes: FixtureSpec = mapLayers(ociBase, (entries) => withMtimes(entries, (entry, i) => (i % 2 === 0 ? baseTime : later)));

async function writtenLayers(result: NormalizeResult) {
  const image = await loadImage(result.output!.reference);
  try {
    const layers = [];
    for (const layer of image.layers) {
      const chunks: Buffer[] = [];
      for await (const chunk of await layer.openTar()) chunks.push(chunk as Buffer);
      layers.push(await readTar(Buffer.concat(chunks)));
    }
    return { config: image.config.parsed as Record<string, any>, layers };
  } finally {
    await image.close();
  }
}

describe('epoch and clamp', () => {
  async function writeOut(spec: FixtureSpec, change: Parameters<typeof options>[0]) {
    const { ref } = await materialize(spec);
    return normalizeImage({ source: ref, normalize: options(change), output: `oci:${dir.join(`epoch-${counter++}`)}:latest` });
  }

  it('another epoch gives another canonical digest; dates and every mtime are the epoch', async () => {
    const epoch = 1700000000;
    const [zero, set] = await Promise.all([normalizeSpec(mixedTimes), writeOut(mixedTimes, { epoch })]);
    expect(set.canonicalDigest).not.toBe(zero.canonicalDigest);
    expect(set.options).toMatchObject({ epoch, timestampMode: 'set' });
    const { config, layers } = await writtenLayers(set);
    expect(config.created).toBe('2023-11-14T22:13:20Z');
    expect(config.history.map((h: { created: string }) => h.created)).toEqual(['2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z', '2023-11-14T22:13:20Z']);
    const mtimes = new Set(layers.flat().map((entry) => entry.mtime));
    expect([...mtimes]).toEqual([epoch]);
  });

  it('clamp keeps earlier mtimes and rewrites later ones; config dates are set', async () => {
    const result = await writeOut(mixedTimes, { epoch: clampEpoch, timestampMode: 'clamp' });
    const { config, layers } = await writtenLayers(result);
    expect(config.created).toBe('2023-01-01T00:00:00Z');
    const mtimes = new Set(layers.flat().map((entry) => entry.mtime));
    expect([...mtimes].sort()).toEqual([baseTime.getTime() / 1000, clampEpoch].sort());
  });

  it('clamp removes differences after the epoch and keeps those before it', async () => {
    const laterMoved = mapLayers(mixedTimes, (entries) => entries.map((e) => (e.mtime === later ? { ...e, mtime: new Date('2025-01-01T00:00:00Z') } : e)));
    const earlierMoved = mapLayers(mixedTimes, (entries) => entries.map((e) => (e.mtime === baseTime ? { ...e, mtime: new Date('2020-01-01T00:00:00Z') } : e)));
    const clamp = { epoch: clampEpoch, timestampMode: 'clamp' as const };
    const [a, l, e] = await Promise.all([normalizeSpec(mixedTimes, clamp), normalizeSpec(laterMoved, clamp), normalizeSpec(earlierMoved, clamp)]);
    expect(l.imageId).not.toBe(a.imageId);
    expect(l.canonicalDigest).toBe(a.canonicalDigest);
    expect(e.imageId).not.toBe(a.imageId);
    expect(e.canonicalDigest).not.toBe(a.canonicalDigest);
    // Set mode rewrites the earlier times too.
    const [as, es] = await Promise.all([normalizeSpec(mixedTimes, { epoch: clampEpoch }), normalizeSpec(earlierMoved, { epoch: clampEpoch })]);
    expect(es.canonicalDigest).toBe(as.canonicalDigest);
  });

  it('clamp to an epoch after every mtime keeps them all, as the mtime rule disabled does', async () => {
    const [clamped, kept] = await Promise.all([
      normalizeSpec(mixedTimes, { epoch: 1900000000, timestampMode: 'clamp' }),
      normalizeSpec(mixedTimes, { epoch: 1900000000, disable: ['mtime'] }),
    ]);
    expect(clamped.canonicalDigest).toBe(kept.canonicalDigest);
  });
});

// ---------------------------------------------------------------------------------------------
// The same options through the binary: --epoch, SOURCE_DATE_EPOCH, --clamp, --disable

async function cliNormalize(args: string[], env: Record<string, string> = {}): Promise<NormalizeResult> {
  const run = await runCli(['normalize', ...args, '--json'], { env });
  if (run.code !== 0) throw new Error(`normalize ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as NormalizeResult;
}

describe('normalize flags through the binary', () => {
  // Two runs (the binary takes about a second to start): each flag is read, and means what the option means.
  it('SOURCE_DATE_EPOCH with --clamp and --disable; --epoch as a date wins over SOURCE_DATE_EPOCH', async () => {
    const { ref } = await materialize(mixedTimes);
    const epoch = clampEpoch;
    const [fromEnv, flagOverEnv, libClamp, libSet] = await Promise.all([
      cliNormalize([ref, '--clamp', '--disable', 'owner-names', '--disable', 'history-created'], { SOURCE_DATE_EPOCH: String(epoch) }),
      cliNormalize([ref, '--epoch', '2023-01-01T00:00:00Z'], { SOURCE_DATE_EPOCH: '5' }),
      normalizeSpec(mixedTimes, { epoch, timestampMode: 'clamp', disable: ['owner-names', 'history-created'] }),
      normalizeSpec(mixedTimes, { epoch }),
    ]);
    expect(fromEnv.options).toEqual({ epoch, timestampMode: 'clamp', disabledRules: ['history-created', 'owner-names'] });
    expect(fromEnv.canonicalDigest).toBe(libClamp.canonicalDigest);
    expect(fromEnv.applied.map((rule) => rule.rule)).not.toContain('history-created');
    expect(flagOverEnv.options).toEqual({ epoch, timestampMode: 'set', disabledRules: [] });
    expect(flagOverEnv.canonicalDigest).toBe(libSet.canonicalDigest);
    expect(libClamp.canonicalDigest).not.toBe(libSet.canonicalDigest);
  });
});
