/**
 * The package as a user gets it: `import('oci-repro')` resolves through package.json `exports` to the
 * built dist/index.js (run `npm run build` first; `npm test` does). Its export list is the API contract
 * (src/index.ts lists each name); a name added or removed here is an API change, on purpose.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/golden.js';

type Api = typeof import('../src/index.js');
let api: Api;

/** The public names, sorted: the contract src/index.ts states. */
const publicNames = [
  'ExitCode',
  'MediaType',
  'OciReproError',
  'analyzeImage',
  'attestReport',
  'canonicalConfigBytes',
  'canonicalDigest',
  'canonicalIndexDigest',
  'causeCatalogue',
  'configRuleNames',
  'defaultNormalizeOptions',
  'describeImage',
  'explainDifferences',
  'isFleetReport',
  'isIndexReport',
  'isNormalizeIndexResult',
  'layerRuleNames',
  'listConfigRules',
  'listReferrers',
  'loadImage',
  'loadPairsFile',
  'loadPolicy',
  'mergeFleetReports',
  'normalizeAny',
  'normalizeConfig',
  'normalizeImage',
  'normalizeLayer',
  'parseExpectation',
  'parsePairs',
  'parsePlatform',
  'parsePolicy',
  'parseReference',
  'parseRegistryReference',
  'parseRuleNames',
  'parseShard',
  'pushAttestation',
  'pushImage',
  'pushReferrer',
  'rebuildContext',
  'removeTempPathsSync',
  'renderFleetReport',
  'renderIdentityText',
  'renderIndexReport',
  'renderRebuildReport',
  'renderReport',
  'reportFormats',
  'reportSchemaVersion',
  'resolveEpoch',
  'shardOf',
  'toOutputImage',
  'trackedTempPaths',
  'verifyAny',
  'verifyAnyExpectation',
  'verifyExpectation',
  'verifyFleet',
  'verifyImages',
  'verifyLoaded',
  'writeAttestation',
  'writeImage',
];

/** The type-only public names, sorted: what dist/index.d.ts adds to the values for TypeScript users. */
const publicTypeNames = [
  'AcceptRule',
  'AgainstOutcome',
  'AnalyzeOptions',
  'AppliedRule',
  'AttestationStatement',
  'AttributedDifference',
  'BaseRequest',
  'BuilderName',
  'CanonicalIndexEntry',
  'CauseCount',
  'CauseEntry',
  'Compression',
  'ConfigRuleName',
  'ContentDetail',
  'DaemonOptions',
  'Descriptor',
  'Difference',
  'DifferenceKind',
  'DifferenceScope',
  'EntryType',
  'EntryValue',
  'ErrorCode',
  'ExpectReport',
  'Expectation',
  'FieldDifference',
  'FileAttribute',
  'FileAttributeDifference',
  'FileAttributeValues',
  'FilePresenceDifference',
  'FleetPair',
  'FleetReport',
  'FleetRequest',
  'HistoryEntry',
  'Image',
  'ImageAnalysis',
  'ImageConfig',
  'ImageIdentity',
  'ImageReference',
  'ImageSide',
  'Index',
  'IndexExpectReport',
  'IndexReport',
  'JsonBlob',
  'Layer',
  'LayerAnalysis',
  'LayerComparison',
  'LayerEntry',
  'LayerIdentity',
  'LayerRuleName',
  'LayerSide',
  'LayerStatus',
  'LayerSummary',
  'LoadOptions',
  'Manifest',
  'NormalizeIndexResult',
  'NormalizeLayerOptions',
  'NormalizeOptions',
  'NormalizeRequest',
  'NormalizeResult',
  'OciReproErrorOptions',
  'OmittedDifferences',
  'OutputBlob',
  'OutputFormat',
  'OutputImage',
  'OutputLayer',
  'PairResult',
  'PairsFile',
  'Platform',
  'PlatformComparison',
  'PlatformWanted',
  'Policy',
  'ProgressEvent',
  'ProgressListener',
  'PushImage',
  'PushOptions',
  'PushResult',
  'RebuildRenderOptions',
  'RebuildReport',
  'RebuildRequest',
  'RebuildStep',
  'ReferrerArtifact',
  'ReferrerPushResult',
  'RegistryOptions',
  'RegistryReference',
  'RenderOptions',
  'Report',
  'ReportFormat',
  'ReportSummary',
  'RuleName',
  'Selector',
  'Shard',
  'TimestampMode',
  'Transport',
  'TriggeredCause',
  'VariationName',
  'VariationOutcome',
  'Verdict',
  'VerifyRequest',
  'WriteOptions',
  'WriteResult',
];

beforeAll(async () => {
  const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { exports: { '.': { default: string; types: string } } };
  const entry = manifest.exports['.'];
  for (const file of [entry.default, entry.types]) expect(existsSync(join(repoRoot, file)), `${file}: run \`npm run build\` first`).toBe(true);
  api = (await import('oci-repro' as string)) as Api;
});

describe("the package's public API", () => {
  it('exports exactly the listed names: no internal helper leaks', () => {
    expect(Object.keys(api).sort()).toEqual(publicNames);
    // Spot checks of internals that the old `export *` exposed.
    for (const internal of ['badInput', 'withContext', 'sha256', 'VerifyingStream', 'DifferenceCollector', 'applyPolicy', 'createCompressor']) {
      expect(api, internal).not.toHaveProperty(internal);
    }
  });

  it('declares exactly the listed names for TypeScript users (package.json types), with their docs', () => {
    const declarations = join(repoRoot, 'dist', 'index.d.ts');
    const program = ts.createProgram([declarations], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true });
    const checker = program.getTypeChecker();
    const module = checker.getSymbolAtLocation(program.getSourceFile(declarations)!)!;
    const exported = checker.getExportsOfModule(module);
    const byBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    expect(exported.map((symbol) => symbol.name).sort(byBytes)).toEqual([...publicNames, ...publicTypeNames].sort(byBytes));
    // src/index.ts gives each name a one-line doc comment, and the declarations keep it.
    const undocumented = exported.filter((symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() === '');
    expect(undocumented.map((symbol) => symbol.name)).toEqual([]);
  });

  it('verifies the bundled example pair: reproducible, with the canonical digest of golden/canonical-digests.json', async () => {
    const golden = JSON.parse(await readFile(join(repoRoot, 'golden', 'canonical-digests.json'), 'utf8')) as {
      examples: Record<string, { canonicalDigest: string }>;
    };
    const report = await api.verifyImages({
      a: join(repoRoot, 'examples', 'build-a.tar'),
      b: join(repoRoot, 'examples', 'build-b.tar'),
      normalize: api.defaultNormalizeOptions,
    });
    expect(report.verdict).toBe('reproducible');
    expect(report.a.canonicalDigest).toBe(golden.examples['build-a.tar'].canonicalDigest);
    expect(report.b.canonicalDigest).toBe(golden.examples['build-b.tar'].canonicalDigest);
    // The raw identities differ (the builds are not byte-identical); only normalization makes them equal.
    expect(report.a.imageId).not.toBe(report.b.imageId);
    expect(api.renderReport(report, 'text', { color: false })).toContain(report.a.canonicalDigest);
  });

  it('throws its own OciReproError class, with the exit code of the cause', async () => {
    const missing = join(repoRoot, 'examples', 'no-such-build.tar');
    const error = await api.loadImage(`docker-archive:${missing}`).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(api.OciReproError);
    expect((error as InstanceType<Api['OciReproError']>).exitCode).toBe(api.ExitCode.unavailable);
  });
});
