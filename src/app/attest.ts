/**
 * The attestation use cases of verify: build the in-toto statement of a report (report/attestation.ts),
 * write it to a file all-or-nothing, push it to A's registry as an OCI 1.1 referrer of A's manifest.
 * Signing is the user's signer's job (README: Attestation).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { usageError, withContext } from '../errors.js';
import { sha256 } from '../image/digest.js';
import { pushReferrer, type ReferrerPushResult } from '../registry/referrers.js';
import type { RegistryOptions } from '../registry/client.js';
import {
  buildAttestation,
  serializeAttestation,
  statementMediaType,
  type AttestableReport,
  type Statement,
} from '../report/attestation.js';
import { isIndexExpectReport } from '../report/expect-model.js';
import { isIndexReport } from '../report/index-model.js';
import type { Report } from '../report/model.js';
import { checkDestination, writeAtomically } from '../sinks/atomic.js';
import { toolVersion } from '../version.js';

const transportPrefixes = ['docker://', 'docker-daemon:', 'docker-archive:', 'oci-archive:', 'oci:', 'dir:'];

/** A reference as a URI: transports are URI schemes already (`docker://`, `oci-archive:`); a bare path becomes a file URL. */
export function referenceUri(reference: string): string {
  if (transportPrefixes.some((prefix) => reference.startsWith(prefix))) return reference;
  return pathToFileURL(resolve(reference)).href;
}

export interface AttestOptions {
  /** The policy file the report was made with (its bytes are hashed). */
  policyPath?: string;
  time?: Date;
}

/** The statement of `report`, with the policy file's digest when one was used. */
export async function attestReport(report: AttestableReport, options: AttestOptions = {}): Promise<Statement> {
  let policy: { uri: string; sha256: string } | undefined;
  if (options.policyPath !== undefined) {
    let bytes: Buffer;
    try {
      bytes = await readFile(options.policyPath);
    } catch (error) {
      throw withContext(`reading policy ${options.policyPath}`, error);
    }
    policy = { uri: referenceUri(options.policyPath), sha256: sha256(bytes).slice('sha256:'.length) };
  }
  return buildAttestation(report, {
    time: options.time ?? new Date(),
    tool: { name: 'oci-repro', version: toolVersion },
    ...(policy ? { policy } : {}),
    toUri: referenceUri,
  });
}

/** Fails before any work when the attestation file cannot be written (an existing regular file is replaced). */
export async function checkAttestationPath(path: string): Promise<void> {
  await checkDestination(resolve(path), 'file', true);
}

/** Writes the statement under a temp name beside `path` and renames it into place: never a partial file. */
export async function writeAttestation(path: string, statement: Statement): Promise<void> {
  const bytes = serializeAttestation(statement);
  await writeAtomically(path, 'file', true, async (temp) => {
    await writeFile(temp, bytes, { flag: 'wx', mode: 0o644 });
  });
}

/** The manifest (or index) of A the attestation is about (a rebuild: the release), and A's registry reference. */
export function attestationSubject(report: AttestableReport): { reference: string; digest: string } {
  let reference: string;
  let digest: string | null;
  if ('kind' in report && report.kind === 'rebuild') {
    // A rebuild's statement goes beside the release it verified; builds without --against are in no registry.
    if (!report.against) throw usageError('--attest-push needs --against: the statement is pushed beside the release', { hint: 'write it to a file with --attest FILE' });
    ({ reference, manifestDigest: digest } = report.against.report.a);
  } else if ('kind' in report && report.kind === 'expect') {
    if (isIndexExpectReport(report)) ({ reference, indexDigest: digest } = report.index);
    else ({ reference, manifestDigest: digest } = report.image);
  } else if (isIndexReport(report)) {
    ({ reference, indexDigest: digest } = report.a);
  } else {
    ({ reference, manifestDigest: digest } = (report as Report).a);
  }
  if (!reference.startsWith('docker://')) {
    throw usageError(`--attest-push: ${reference} is not in a registry`, { hint: 'the first image must be a docker:// reference: the attestation is pushed beside it' });
  }
  if (!digest) throw usageError(`--attest-push: ${reference} has no manifest digest to refer to`);
  return { reference, digest };
}

/** Pushes the statement to A's repository as a referrer of A's manifest (referrers API, else the fallback tag). */
export async function pushAttestation(report: AttestableReport, statement: Statement, options: RegistryOptions = {}): Promise<ReferrerPushResult> {
  const { reference, digest } = attestationSubject(report);
  return pushReferrer(
    reference,
    digest,
    {
      artifactType: statementMediaType,
      mediaType: statementMediaType,
      bytes: serializeAttestation(statement),
      annotations: {
        'org.opencontainers.image.created': statement.predicate.timeVerified,
        // The annotation BuildKit and cosign put on in-toto layers, so tools can filter by predicate.
        'in-toto.io/predicate-type': statement.predicateType,
      },
    },
    options,
  );
}
