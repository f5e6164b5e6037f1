// The public library API, one name at a time: what is listed here is the contract, snapshotted by
// test/package.test.ts; everything else is internal and may change. Never imports @oclif/core.
// docs/architecture.md describes the layers these names come from.
// No quote marks in the comments inside these lists: the import-graph check reads `export { ... } from`
// with a pattern that stops at a quote, and would miss the edge.

// ---- Use cases: what the commands run ----
export {
  /** Compares two builds by reference: verdict, identity chains side by side, every difference explained. */
  verifyImages,
  /** The same comparison over two images already opened with loadImage (the caller closes them). */
  verifyLoaded,
  /** What verifyImages takes: the two references, normalize options, policy, limits. */
  type VerifyRequest,
} from './app/verify.js';
export {
  /** One build against a known canonical digest (`verify A --expect`). */
  verifyExpectation,
  /** What verifyExpectation returns. */
  type ExpectReport,
} from './app/expect.js';
export {
  /** Normalizes one image: its canonical digest, and with `output` the normalized image written or pushed. */
  normalizeImage,
  /** What normalizeImage takes: the source, normalize options, the optional destination. */
  type NormalizeRequest,
  /** What normalizeImage returns (the `normalize --json` output). */
  type NormalizeResult,
} from './app/normalize.js';
export {
  /** The base image whose bottom layers a build keeps byte for byte (`--base`, `--base-layers`). */
  type BaseRequest,
} from './normalize/base.js';

// ---- Whole multi-platform indexes ----
export {
  /** verifyImages, or platform by platform when either side is an index of several platforms. */
  verifyAny,
} from './app/verify-index.js';
export {
  /** verifyExpectation, or against the canonical index digest when the reference is an index. */
  verifyAnyExpectation,
  /** What verifyAnyExpectation returns for an index. */
  type IndexExpectReport,
} from './app/expect-index.js';
export {
  /** normalizeImage, or every platform and the normalized index when the source is an index. */
  normalizeAny,
  /** Whether normalizeAny returned an index result. */
  isNormalizeIndexResult,
  /** What normalizeAny returns for an index (the `normalize --json` output). */
  type NormalizeIndexResult,
} from './app/normalize-index.js';
export {
  /** The canonical digest of a whole index: sha256 of the per-platform canonical digests, sorted. */
  canonicalIndexDigest,
  /** One platform and its canonical digest. */
  type CanonicalIndexEntry,
} from './normalize/canonical-index.js';
export {
  /** The report of two indexes: one report per platform, the worst verdict overall. */
  type IndexReport,
  /** One platform of an IndexReport. */
  type PlatformComparison,
  /** Whether verifyAny returned an index report. */
  isIndexReport,
} from './report/index-model.js';
export {
  /** Renders an IndexReport in one of the report formats. */
  renderIndexReport,
} from './report/render.js';

// ---- Fleets: many pairs, shards, merge ----
export {
  /** Verifies every pair of a pairs file (or one shard), at most `jobs` at once; a pair's error is its result. */
  verifyFleet,
  /** What verifyFleet takes. */
  type FleetRequest,
} from './fleet/verify-fleet.js';
export {
  /** Reads and checks a pairs file (YAML or JSON; schema/pairs.schema.json). */
  loadPairsFile,
  /** Parses and checks pairs text; `source` names the file in errors and picks JSON for `.json`. */
  parsePairs,
  /** One pair of a pairs file. */
  type FleetPair,
  /** A pairs file: its path, digest and pairs. */
  type PairsFile,
} from './fleet/pairs-file.js';
export {
  /** Parses `K/N`. */
  parseShard,
  /** The shard (1..N) a pair of this name belongs to: by a hash of the name. */
  shardOf,
  /** One shard of a fleet: K of N. */
  type Shard,
} from './fleet/shard.js';
export {
  /** Joins the reports of every shard of a fleet into the report of the unsharded run. */
  mergeFleetReports,
} from './fleet/merge.js';
export {
  /** The report of a fleet: per pair its verdict and report, or its error; overall the worst. */
  type FleetReport,
  /** One pair of a FleetReport. */
  type PairResult,
  /** Whether a parsed JSON document is a fleet report. */
  isFleetReport,
} from './report/fleet-model.js';
export {
  /** Renders a FleetReport as text, JSON, Markdown or JUnit. */
  renderFleetReport,
} from './report/render-fleet.js';

// ---- Rebuild: build a context again, vary one thing at a time ----
export {
  /** Builds a context with the user's builder, once per variation (or once against a release), and verifies each build. */
  rebuildContext,
  /** What rebuildContext takes: context, Dockerfile, builder, variations, --against, --keep. */
  type RebuildRequest,
  /** A build or comparison starting, or a builder step, for a status line. */
  type RebuildStep,
  /** What rebuildContext returns (schema/rebuild-report.schema.json). */
  type RebuildReport,
  /** One variation of a RebuildReport: compared (its verify report, what it broke) or skipped (why). */
  type VariationOutcome,
  /** One remaining difference of a RebuildReport and the variations that produce it. */
  type AttributedDifference,
  /** The release verified against the rebuild (`--against`). */
  type AgainstOutcome,
  /** A cause a variation triggers, with its fix and counts. */
  type TriggeredCause,
  /** The builders rebuild can run: buildah, podman, docker. */
  type BuilderName,
  /** The variations rebuild can try: clock, mtimes, umask, order, cpus, env, hostname. */
  type VariationName,
} from './app/rebuild.js';
export {
  /** Renders a RebuildReport in one of reportFormats. */
  renderRebuildReport,
  /** Colour of the text format. */
  type RebuildRenderOptions,
} from './report/render-rebuild.js';

// ---- Loading images ----
export {
  /** Opens an image by reference: `oci:`, `oci-archive:`, `docker-archive:`, `docker://`, `docker-daemon:`, `dir:`, or a path. */
  loadImage,
  /** Splits a reference into transport and location without opening it. */
  parseReference,
  /** A parsed reference. */
  type ImageReference,
  /** Parses `os/arch[/variant]` for LoadOptions.platform. */
  parsePlatform,
  /** The platform to pick from an index. */
  type PlatformWanted,
  /** How to open an image: platform, registry and daemon settings. */
  type LoadOptions,
  /** How to reach a Docker Engine API for `docker-daemon:` references. */
  type DaemonOptions,
} from './sources/index.js';
export {
  /** Registry settings: credentials, TLS, timeouts, retries. */
  type RegistryOptions,
} from './registry/client.js';
export {
  /** What LoadOptions.onProgress hears: an image and its blob sizes, bytes read per blob read, a layer not read. */
  type ProgressEvent,
  /** The LoadOptions.onProgress callback. */
  type ProgressListener,
} from './image/progress.js';
export {
  /** A loaded image: manifest, config, and layers as re-openable, digest-checked streams. */
  type Image,
  /** One layer of an Image. */
  type Layer,
  /** A JSON document with the exact bytes its digest covers. */
  type JsonBlob,
  /** How an image was reached, by the transport names of skopeo. */
  type Transport,
} from './image/image.js';
export {
  /** An OCI content descriptor. */
  type Descriptor,
  /** One history entry of a config (a Dockerfile step). */
  type HistoryEntry,
  /** An OCI or Docker image config. */
  type ImageConfig,
  /** An OCI index or Docker manifest list. */
  type Index,
  /** An OCI or Docker image manifest. */
  type Manifest,
  /** The os, architecture and variant of an image. */
  type Platform,
} from './image/types.js';
export {
  /** The OCI and Docker media types by name. */
  MediaType,
  /** The compression of a layer: gzip, zstd or none. */
  type Compression,
} from './image/media-types.js';

// ---- The identity chain ----
export {
  /** The identity chain of an image: manifest digest, image ID, and per layer its digests and Dockerfile step. */
  describeImage,
  /** The identity chain of an image. */
  type ImageIdentity,
} from './report/identity.js';
export {
  /** The identity chain as `inspect` prints it. */
  renderIdentityText,
} from './report/identity-text.js';

// ---- Normalization ----
export {
  /** The defaults: epoch 0, timestamps set, every rule on. */
  defaultNormalizeOptions,
  /** The settings of the normalizer: epoch, timestamp mode, disabled rules. */
  type NormalizeOptions,
  /** Set every mtime to the epoch, or clamp only later ones to it. */
  type TimestampMode,
  /** The names of the config rules, as `--disable` takes them. */
  configRuleNames,
  /** The names of the layer rules, as `--disable` takes them. */
  layerRuleNames,
  /** One config rule name. */
  type ConfigRuleName,
  /** One layer rule name. */
  type LayerRuleName,
  /** One rule name of either kind. */
  type RuleName,
  /** Validates rule names (`--disable`) into the set NormalizeOptions.disabledRules takes. */
  parseRuleNames,
  /** The epoch to normalize to: the given value, else SOURCE_DATE_EPOCH, else 0. */
  resolveEpoch,
} from './normalize/options.js';
export {
  /** The config rules: a pure function of a config and its canonical diff_ids. */
  normalizeConfig,
  /** Each config rule with what it does. */
  listConfigRules,
  /** A rule that changed a config, and where. */
  type AppliedRule,
} from './normalize/config.js';
export {
  /** RFC 8785 bytes of a normalized config: the config blob normalize writes. */
  canonicalConfigBytes,
  /** sha256 of those bytes: the canonical digest. */
  canonicalDigest,
} from './normalize/canonical.js';
export {
  /** One streaming pass over a layer tar: its entry table and canonical tar digest (and bytes, with `output`). */
  normalizeLayer,
  /** What normalizeLayer takes beside the tar. */
  type NormalizeLayerOptions,
} from './normalize/layer.js';
export {
  /** One entry of the entry table of a layer. */
  type LayerEntry,
  /** The entry table and digests of a layer, as normalizeLayer returns them. */
  type LayerSummary,
  /** The kind of a tar entry. */
  type EntryType,
} from './normalize/entry.js';
export {
  /** Every layer of a loaded image in one pass each, then the config rules: its canonical digest. */
  analyzeImage,
  /** What analyzeImage takes: normalize options, optional output of normalized layers. */
  type AnalyzeOptions,
  /** What analyzeImage returns: the normalized config, its bytes and digest, and a result per layer. */
  type ImageAnalysis,
  /** The result for one layer in an ImageAnalysis. */
  type LayerAnalysis,
} from './normalize/image.js';
export {
  /** An analysis made with `output`, as writeImage and pushImage take it. */
  toOutputImage,
} from './app/output-image.js';

// ---- Writing and pushing ----
export {
  /** Writes an image to `oci:DIR`, `oci-archive:FILE` or `docker-archive:FILE`; never a partial one. */
  writeImage,
  /** What writeImage takes beside the image: tag, overwrite. */
  type WriteOptions,
  /** What writeImage returns: a reference to what it wrote. */
  type WriteResult,
  /** The formats writeImage writes. */
  type OutputFormat,
} from './sinks/write.js';
export {
  /** An image to write: manifest, config and layer files. */
  type OutputImage,
  /** A blob of an OutputImage: its bytes in memory, or a file. */
  type OutputBlob,
  /** A layer of an OutputImage: a file, or the descriptor of a foreign layer. */
  type OutputLayer,
} from './sinks/output-image.js';
export {
  /** Pushes an image to a registry, sending only the blobs it lacks. */
  pushImage,
  /** An image to push: manifest, config and layer blobs. */
  type PushImage,
  /** Registry settings plus cross-repository mounts and upload concurrency. */
  type PushOptions,
  /** What pushImage returns: the manifest digest and what happened to each blob. */
  type PushResult,
} from './registry/push.js';
export {
  /** Pushes a blob to a registry as an OCI 1.1 referrer of a manifest: referrers API, else the fallback tag. */
  pushReferrer,
  /** The referrers of a manifest: from the referrers API, else the fallback tag index. */
  listReferrers,
  /** An artifact to push as a referrer: its type, one blob, annotations. */
  type ReferrerArtifact,
  /** What pushReferrer returns: the artifact manifest digest and how it was indexed. */
  type ReferrerPushResult,
} from './registry/referrers.js';
export {
  /** A report as an in-toto Statement v1 with a SLSA verification summary predicate. */
  attestReport,
  /** Writes a statement to a file all-or-nothing. */
  writeAttestation,
  /** Pushes a statement to the first image registry as a referrer of its manifest. */
  pushAttestation,
} from './app/attest.js';
export {
  /** The in-toto Statement v1 that attestReport builds (schema/attestation.schema.json). */
  type Statement as AttestationStatement,
} from './report/attestation.js';
export {
  /** Parses `REGISTRY/REPO[:TAG][@DIGEST]`. */
  parseRegistryReference,
  /** A parsed registry reference. */
  type RegistryReference,
} from './registry/reference.js';

// ---- Differences (the model compare, causes, gate and report share) ----
export {
  /** One difference: where, the two values, its cause and hint; a union by kind. */
  type Difference,
  /** A config or manifest field difference: JSON values. */
  type FieldDifference,
  /** One attribute of a file on both sides, its values typed by attribute (modes as numbers). */
  type FileAttributeDifference,
  /** The value type of each file attribute. */
  type FileAttributeValues,
  /** A file on one side only. */
  type FilePresenceDifference,
  /** A file entry as a file-added or file-removed difference holds it. */
  type EntryValue,
  /** The kind of a difference. */
  type DifferenceKind,
  /** The scope a difference lies in: config, a layer, or the flattened filesystem. */
  type DifferenceScope,
  /** Which attribute of a file differs. */
  type FileAttribute,
  /** The text or JSON diff of a changed file. */
  type ContentDetail,
  /** Differences left out of the report, counted. */
  type OmittedDifferences,
} from './diff/model.js';
export {
  /** The identity chain of one layer. */
  type LayerIdentity,
  /** One layer pair of a report. */
  type LayerComparison,
  /** One side of a LayerComparison. */
  type LayerSide,
  /** Where the identity chain of a layer pair breaks. */
  type LayerStatus,
} from './diff/layers.js';

// ---- Reports ----
export {
  /** The version of the report format (the JSON Schema in schema/). */
  reportSchemaVersion,
  /** What verify returns: verdict, both identity chains, differences, summary. */
  type Report,
  /** identical, reproducible (equal after normalization) or not-reproducible. */
  type Verdict,
  /** One side of a report: the identity chain and canonical digests of an image. */
  type ImageSide,
  /** Differences counted per cause. */
  type CauseCount,
  /** The counts of a report. */
  type ReportSummary,
} from './report/model.js';
export {
  /** Renders a report in one of reportFormats. */
  renderReport,
  /** The formats renderReport writes: text, json, markdown, junit, html. */
  reportFormats,
  /** One of reportFormats. */
  type ReportFormat,
  /** Colour and verbosity of the text format, the size cap of Markdown. */
  type RenderOptions,
} from './report/render.js';
export {
  /** The built-in causes a difference can be explained by (src/causes/catalogue.yaml). */
  causeCatalogue,
  /** One cause: id, title, fix and the selectors that find its differences. */
  type CauseEntry,
} from './causes/catalogue.js';
export {
  /** Explains each difference by the first cause whose selectors match it (a policy's causes first). */
  explainDifferences,
} from './causes/match.js';
export {
  /** What a cause or an accept rule of a policy selects: kinds, paths, pointers, attributes, keys, values. */
  type Selector,
} from './causes/selectors.js';

// ---- The gate ----
export {
  /** Reads a policy file (accepted differences) for VerifyRequest.policy. */
  loadPolicy,
  /** Parses policy text, naming `source` in errors. */
  parsePolicy,
  /** A parsed policy. */
  type Policy,
  /** One accepted-difference entry of a policy. */
  type AcceptRule,
} from './gate/policy.js';
export {
  /** Reads an `--expect` value: a canonical digest, or a file holding one. */
  parseExpectation,
  /** A parsed expectation. */
  type Expectation,
} from './gate/expect.js';

// ---- Errors and cleanup ----
export {
  /** Every error the library throws on purpose: code, exit code, one-line message, hint. */
  OciReproError,
  /** What an OciReproError takes beside code and message: hint, data, cause. */
  type OciReproErrorOptions,
  /** The codes of OciReproError. */
  type ErrorCode,
  /** The process exit code of each outcome. */
  ExitCode,
} from './errors.js';
export {
  /** The staging paths of writes in progress, for the signal handler of an embedding program. */
  trackedTempPaths,
  /** Removes those paths synchronously (from a signal handler) and returns them. */
  removeTempPathsSync,
} from './temp-files.js';
