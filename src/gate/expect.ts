/**
 * `--expect`: the canonical digest a build must have, given as a digest or as a file recorded earlier
 * (a `verify --format json` report, whose A side is the reference build, or `normalize --json` output).
 */
import { readFile } from 'node:fs/promises';
import { usageError, withContext } from '../errors.js';
import { reportSchemaVersion } from '../report/model.js';

export interface Expectation {
  canonicalDigest: string;
  /** `argument`, or the file the digest was read from. */
  source: string;
}

const sha256Digest = /^sha256:[0-9a-f]{64}$/;
const expectHint = 'give sha256:<64 hex digits>, a report written by `verify --format json`, or the output of `normalize --json`';

/**
 * Parses an `--expect` value. A value starting with `sha256:` is a digest; anything else names a file.
 * Errors: a malformed digest or file content is a usage error (exit 2), a missing file exit 4.
 */
export async function parseExpectation(value: string): Promise<Expectation> {
  const text = value.trim();
  if (text.startsWith('sha256:')) return { canonicalDigest: checkDigest(text, '--expect'), source: 'argument' };
  // Digest-looking values that are not one: say so rather than "no such file".
  if (/^[0-9a-f]{64}$/i.test(text)) {
    throw usageError(`--expect: ${JSON.stringify(text)} lacks the sha256: prefix`, { hint: expectHint });
  }
  if (/^[a-z0-9]+:[0-9a-f]{32,}$/i.test(text)) {
    throw usageError(`--expect: ${JSON.stringify(text)} is not a sha256 digest; canonical digests are sha256`, { hint: expectHint });
  }
  let content: string;
  try {
    content = await readFile(text, 'utf8');
  } catch (error) {
    throw withContext(`--expect: reading ${text}`, error);
  }
  return { canonicalDigest: digestFromFile(content, text), source: text };
}

function digestFromFile(content: string, file: string): string {
  const what = `--expect ${file}`;
  // A file holding just the digest, as `normalize` prints it.
  if (content.trim().startsWith('sha256:')) return checkDigest(content.trim(), what);
  let document: unknown;
  try {
    document = JSON.parse(content);
  } catch (error) {
    throw usageError(`${what}: not JSON (${error instanceof Error ? error.message : String(error)})`, { hint: expectHint, cause: error });
  }
  if (!isObject(document)) throw usageError(`${what}: expected a JSON object`, { hint: expectHint });

  // A verify report: its A side is the build the report was recorded for.
  if (document.schemaVersion !== undefined || isObject(document.a)) {
    if (document.schemaVersion !== reportSchemaVersion) {
      throw usageError(
        `${what}: report schema version ${JSON.stringify(document.schemaVersion ?? null)}; this oci-repro reads version ${reportSchemaVersion}`,
        { hint: 'record the report again with this version of oci-repro' },
      );
    }
    const side = document.a;
    if (isObject(side) && side.canonicalDigest === null) {
      // verify leaves the layers of equal pairs unread (and so two identical images whole).
      throw usageError(`${what}: the report has no canonical digest: layers with equal diff_ids were not read`, {
        hint: 'record the report with verify --verify-blobs, or use the output of normalize --json',
      });
    }
    if (!isObject(side) || typeof side.canonicalDigest !== 'string') {
      throw usageError(`${what}: the report has no a.canonicalDigest`, { hint: expectHint });
    }
    return checkDigest(side.canonicalDigest, `${what}: a.canonicalDigest`);
  }
  // normalize --json output.
  if (typeof document.canonicalDigest === 'string') return checkDigest(document.canonicalDigest, `${what}: canonicalDigest`);
  throw usageError(`${what}: holds neither a verify report (a.canonicalDigest) nor normalize --json output (canonicalDigest)`, {
    hint: expectHint,
  });
}

function checkDigest(text: string, what: string): string {
  if (!sha256Digest.test(text)) {
    throw usageError(`${what}: ${JSON.stringify(text)} is not a sha256 digest (sha256: and 64 lower-case hex digits)`, {
      hint: expectHint,
    });
  }
  return text;
}

/** Whether an image's canonical digest is the expected one; `label` names the image in the reason. */
export function checkExpectation(
  expectation: Expectation,
  actual: { label: string; canonicalDigest: string },
): { passed: boolean; reason: string } {
  const from = expectation.source === 'argument' ? '' : ` (from ${expectation.source})`;
  if (actual.canonicalDigest === expectation.canonicalDigest) {
    return { passed: true, reason: `${actual.label} has the expected canonical digest ${expectation.canonicalDigest}${from}` };
  }
  return {
    passed: false,
    reason: `${actual.label} has canonical digest ${actual.canonicalDigest}, expected ${expectation.canonicalDigest}${from}`,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
