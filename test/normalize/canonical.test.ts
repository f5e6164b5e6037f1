import { describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import type { ImageConfig } from '../../src/image/types.js';
import { canonicalConfigBytes, canonicalDigest } from '../../src/normalize/canonical.js';
import { normalizeConfig } from '../../src/normalize/config.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { sha256Of } from '../helpers/digest.js';

/*
 * Config blobs exactly as buildah 1.28.2 wrote them for two `bud --layers --no-cache` builds of
 *   FROM scratch / LABEL org.opencontainers.image.created="2024-01-01T00:00:00Z" maintainer=me /
 *   ENV A=1 / COPY hello.txt /hello.txt / CMD ["/hello"]
 * once with --format docker and once with --format oci. The layer was byte-identical in all four.
 */
const buildahDocker1 = String.raw`{"created":"2026-11-25T09:11:20.496566511Z","container":"c12fdf856db7ae8e2eec23dda93ab3d13acad10f9c57c4e9470423307b770fda","container_config":{"Hostname":"1fbe67008cca","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"Cmd":["/hello"],"Image":"","Volumes":{},"WorkingDir":"","Entrypoint":[],"OnBuild":[],"Labels":{"io.buildah.version":"1.28.2","maintainer":"me","org.opencontainers.image.created":"2024-01-01T00:00:00Z"}},"config":{"Hostname":"1fbe67008cca","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"Cmd":["/hello"],"Image":"","Volumes":{},"WorkingDir":"","Entrypoint":[],"OnBuild":[],"Labels":{"io.buildah.version":"1.28.2","maintainer":"me","org.opencontainers.image.created":"2024-01-01T00:00:00Z"}},"architecture":"amd64","os":"linux","parent":"sha256:8cd36f0dd5cc06ef8ba3699d9f143cddf98a2397f0aecf54e80f8d58f2e56d98","rootfs":{"type":"layers","diff_ids":["sha256:6ff23abaaf15dd8d1d097b8c90ecd2b126cf4de4ae85fa9c03d5f9b034b38bd4"]},"history":[{"created":"2026-11-25T09:11:20.035608479Z","created_by":"/bin/sh -c #(nop) LABEL org.opencontainers.image.created=\"2024-01-01T00:00:00Z\" maintainer=me","empty_layer":true},{"created":"2026-11-25T09:11:20.058526177Z","created_by":"/bin/sh -c #(nop) ENV A=1","comment":"FROM 561cd65be29c","empty_layer":true},{"created":"2026-11-25T09:11:20.3975266Z","created_by":"/bin/sh -c #(nop) COPY file:87c795a1e3e18049905e07b82affce1af157e2b015ba04257306df836f66869b in /hello.txt ","comment":"FROM 907cc8e47b6f"},{"created":"2026-11-25T09:11:20.496878676Z","created_by":"/bin/sh -c #(nop) CMD [\"/hello\"]","comment":"FROM 8cd36f0dd5cc","empty_layer":true}]}`;
const buildahDocker2 = String.raw`{"created":"2026-11-25T09:11:22.247996281Z","container":"3cb727beda4b1cb99fd71433ad60b1301bfe177261385a5ef5248ee3b508e37a","container_config":{"Hostname":"67786d0a2afa","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"Cmd":["/hello"],"Image":"","Volumes":{},"WorkingDir":"","Entrypoint":[],"OnBuild":[],"Labels":{"io.buildah.version":"1.28.2","maintainer":"me","org.opencontainers.image.created":"2024-01-01T00:00:00Z"}},"config":{"Hostname":"67786d0a2afa","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"Cmd":["/hello"],"Image":"","Volumes":{},"WorkingDir":"","Entrypoint":[],"OnBuild":[],"Labels":{"io.buildah.version":"1.28.2","maintainer":"me","org.opencontainers.image.created":"2024-01-01T00:00:00Z"}},"architecture":"amd64","os":"linux","parent":"sha256:05f899c3c66331b19cb8c69d71278a13ec0ad908c400c8a57866fc1c6113737c","rootfs":{"type":"layers","diff_ids":["sha256:6ff23abaaf15dd8d1d097b8c90ecd2b126cf4de4ae85fa9c03d5f9b034b38bd4"]},"history":[{"created":"2026-11-25T09:11:21.928776201Z","created_by":"/bin/sh -c #(nop) LABEL org.opencontainers.image.created=\"2024-01-01T00:00:00Z\" maintainer=me","empty_layer":true},{"created":"2026-11-25T09:11:21.948330252Z","created_by":"/bin/sh -c #(nop) ENV A=1","comment":"FROM 77b29a0891ce","empty_layer":true},{"created":"2026-11-25T09:11:22.228515229Z","created_by":"/bin/sh -c #(nop) COPY file:87c795a1e3e18049905e07b82affce1af157e2b015ba04257306df836f66869b in /hello.txt ","comment":"FROM 5c251c5d4269"},{"created":"2026-11-25T09:11:22.248144755Z","created_by":"/bin/sh -c #(nop) CMD [\"/hello\"]","comment":"FROM 05f899c3c663","empty_layer":true}]}`;
const buildahOci1 = String.raw`{"created":"2026-11-25T09:11:24.012750149Z","architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"Cmd":["/hello"],"Labels":{"io.buildah.version":"1.28.2","maintainer":"me","org.opencontainers.image.created":"2024-01-01T00:00:00Z"}},"rootfs":{"type":"layers","diff_ids":["sha256:6ff23abaaf15dd8d1d097b8c90ecd2b126cf4de4ae85fa9c03d5f9b034b38bd4"]},"history":[{"created":"2026-11-25T09:11:23.683472794Z","created_by":"/bin/sh -c #(nop) LABEL org.opencontainers.image.created=\"2024-01-01T00:00:00Z\" maintainer=me","empty_layer":true},{"created":"2026-11-25T09:11:23.704232465Z","created_by":"/bin/sh -c #(nop) ENV A=1","comment":"FROM f0653cdffbd0","empty_layer":true},{"created":"2026-11-25T09:11:23.992410549Z","created_by":"/bin/sh -c #(nop) COPY file:87c795a1e3e18049905e07b82affce1af157e2b015ba04257306df836f66869b in /hello.txt ","comment":"FROM 167f68683b8c"},{"created":"2026-11-25T09:11:24.012944269Z","created_by":"/bin/sh -c #(nop) CMD [\"/hello\"]","comment":"FROM 5287eef6a4ed","empty_layer":true}]}`;
const buildahOci2 = String.raw`{"created":"2026-11-25T09:11:25.782817123Z","architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1"],"Cmd":["/hello"],"Labels":{"io.buildah.version":"1.28.2","maintainer":"me","org.opencontainers.image.created":"2024-01-01T00:00:00Z"}},"rootfs":{"type":"layers","diff_ids":["sha256:6ff23abaaf15dd8d1d097b8c90ecd2b126cf4de4ae85fa9c03d5f9b034b38bd4"]},"history":[{"created":"2026-11-25T09:11:25.44368632Z","created_by":"/bin/sh -c #(nop) LABEL org.opencontainers.image.created=\"2024-01-01T00:00:00Z\" maintainer=me","empty_layer":true},{"created":"2026-11-25T09:11:25.46627457Z","created_by":"/bin/sh -c #(nop) ENV A=1","comment":"FROM 5069bf8cac2a","empty_layer":true},{"created":"2026-11-25T09:11:25.762087198Z","created_by":"/bin/sh -c #(nop) COPY file:87c795a1e3e18049905e07b82affce1af157e2b015ba04257306df836f66869b in /hello.txt ","comment":"FROM a7b5aa3873ec"},{"created":"2026-11-25T09:11:25.782999701Z","created_by":"/bin/sh -c #(nop) CMD [\"/hello\"]","comment":"FROM 08b30284f930","empty_layer":true}]}`;

const parse = (text: string) => JSON.parse(text) as ImageConfig;
const normalized = (text: string) => normalizeConfig(parse(text), undefined, defaultNormalizeOptions).config;

describe('canonical digest of two real buildah --no-cache builds', () => {
  it.each([
    ['docker', buildahDocker1, buildahDocker2, 'e6ca7e750f607cd78c661b09fd6edaa3305f1a39d0dab78f772ef351268a6531', '7e8acc046a84ff3cb791029a48f4d74966f17752c5d3f3c06688c6173bd89524'],
    ['oci', buildahOci1, buildahOci2, 'de12c2c834f168a0a31288da3b755fb81fef809599640f92c377baf3af2cc341', '944a28e4b2cac61c59ec730181e2fbf168817a8d96f7216f9447ebdb7c8fde54'],
  ])('--format %s: image IDs differ, canonical digests are equal', (_format, first, second, id1, id2) => {
    // The fixtures are the real blobs: their sha256 is the image ID buildah reported.
    expect(sha256Of(first)).toBe(`sha256:${id1}`);
    expect(sha256Of(second)).toBe(`sha256:${id2}`);
    expect(canonicalDigest(normalized(first))).toBe(canonicalDigest(normalized(second)));
  });

  it('brings the two formats together: buildah --format docker adds only builder state and zero values', () => {
    expect(canonicalDigest(normalized(buildahDocker1))).toBe(canonicalDigest(normalized(buildahOci1)));
    // Without the rules that drop them, Docker's spelled-out fields keep the formats apart.
    const strict = { ...defaultNormalizeOptions, disabledRules: new Set(['empty-values', 'container-config'] as const) };
    const [docker, oci] = [buildahDocker1, buildahOci1].map((text) => canonicalDigest(normalizeConfig(parse(text), undefined, strict).config));
    expect(docker).not.toBe(oci);
  });

  it('keeps the two formats apart when a Docker-only field has content', () => {
    const withHealthcheck = parse(buildahDocker1);
    (withHealthcheck.config as Record<string, unknown>).Healthcheck = { Test: ['CMD', '/hello'] };
    const config = normalizeConfig(withHealthcheck, undefined, defaultNormalizeOptions).config;
    expect(canonicalDigest(config)).not.toBe(canonicalDigest(normalized(buildahOci1)));
  });

  it('is the sha256 of the canonical bytes, which are what normalize writes as the config blob', () => {
    const config = normalized(buildahOci1);
    const bytes = canonicalConfigBytes(config);
    expect(canonicalDigest(config)).toBe(sha256Of(bytes));
    // The written blob parses back to the same config and re-canonicalizes to the same bytes.
    expect(canonicalConfigBytes(JSON.parse(bytes.toString('utf8')))).toEqual(bytes);
  });
});

describe('canonicalConfigBytes (RFC 8785)', () => {
  it('sorts keys and drops whitespace', () => {
    const bytes = canonicalConfigBytes(parse('{ "os" : "linux",\n  "architecture": "amd64", "config": {"Env": ["B=2", "A=1"], "Cmd": []} }'));
    expect(bytes.toString('utf8')).toBe('{"architecture":"amd64","config":{"Cmd":[],"Env":["B=2","A=1"]},"os":"linux"}');
  });

  it('does not depend on the key order or whitespace of the input', () => {
    const compact = parse(buildahDocker1);
    const reordered = reverseKeys(compact);
    const pretty = JSON.stringify(reordered, null, 2);
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(compact));
    expect(sha256Of(pretty)).not.toBe(sha256Of(buildahDocker1));
    expect(canonicalDigest(parse(pretty))).toBe(canonicalDigest(compact));
    expect(canonicalDigest(normalizeConfig(parse(pretty), undefined, defaultNormalizeOptions).config)).toBe(
      canonicalDigest(normalized(buildahDocker1)),
    );
  });

  it('keeps array order: order in Env, Cmd and history is content', () => {
    const a = parse('{"config":{"Env":["A=1","B=2"]}}');
    const b = parse('{"config":{"Env":["B=2","A=1"]}}');
    expect(canonicalDigest(a)).not.toBe(canonicalDigest(b));
  });

  it('sorts keys by UTF-16 code units, not code points', () => {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB01 in UTF-16 order.
    const bytes = canonicalConfigBytes(parse('{"\uFB01":1,"\uD83D\uDE00":2,"a":3}'));
    expect(bytes.toString('utf8')).toBe('{"a":3,"\u{1F600}":2,"\uFB01":1}');
  });

  it('writes numbers in ECMAScript form', () => {
    const bytes = canonicalConfigBytes(parse('{"a":1.0,"b":1e2,"c":-0,"d":0.000001,"e":2.5e-10,"f":30000000000,"g":1.5E-7}'));
    expect(bytes.toString('utf8')).toBe('{"a":1,"b":100,"c":0,"d":0.000001,"e":2.5e-10,"f":30000000000,"g":1.5e-7}');
  });

  it('writes strings as JSON does, non-ASCII as UTF-8', () => {
    const bytes = canonicalConfigBytes(parse('{"s":"caf\\u00e9 \\/ \\"q\\" \\u0007 \\n"}'));
    expect(bytes.toString('utf8')).toBe('{"s":"café / \\"q\\" \\u0007 \\n"}');
  });

  it('keeps a Healthcheck interval in nanoseconds exact', () => {
    const config = parse('{"config":{"Healthcheck":{"Interval":30000000000,"StartPeriod":9007199254740991}}}');
    expect(canonicalConfigBytes(config).toString('utf8')).toContain('"Interval":30000000000,"StartPeriod":9007199254740991');
  });

  it('refuses an integer beyond 2^53, naming where it is, with exit code 3', () => {
    // JSON.parse has already rounded 9007199254740993 to 9007199254740992: hashing it would not be exact.
    const config = parse('{"config":{"Healthcheck":{"Interval":9007199254740993}}}');
    let error: unknown;
    try {
      canonicalConfigBytes(config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OciReproError);
    expect((error as OciReproError).exitCode).toBe(3);
    expect((error as OciReproError).message).toContain('/config/Healthcheck/Interval');
    expect(() => canonicalDigest(parse('{"history":[{"x":-1e300}]}'))).toThrow('/history/0/x');
  });
});

/** Rebuilds every object with its keys in reverse insertion order. */
function reverseKeys(value: unknown): any {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).reverse().map(([key, item]) => [key, reverseKeys(item)]));
  }
  return value;
}
