/**
 * What verify publishes beside its report: the attestation (--attest FILE, --attest-push) and, in a
 * GitHub Actions step, the job summary and annotations. Done before the report is printed, so a push
 * that fails leaves one error and no report (stdout stays one document in --json mode).
 */
import { Flags } from '@oclif/core';
import { attestReport, checkAttestationPath, pushAttestation, writeAttestation } from '../app/attest.js';
import type { AnyReport } from '../report/attestation.js';
import { inGithubActions, reportToGithubActions } from './github-actions.js';

export const attestationFlags = {
  attest: Flags.string({
    description:
      'write an in-toto statement with a SLSA verification summary (PASSED or FAILED, the canonical digests) to FILE, for your signer (cosign sign-blob, cosign attest); reads every layer, as --verify-blobs',
    helpValue: 'FILE',
  }),
  'attest-push': Flags.boolean({
    description: "push that statement to A's registry as an OCI 1.1 referrer of A's manifest (referrers API, else the sha256-<hex> tag index)",
    default: false,
  }),
};

export interface PublishFlags {
  attest?: string;
  'attest-push': boolean;
  policy?: string;
}

/** Whether the run must compute the canonical digests: an attestation carries them. */
export function wantsAttestation(flags: PublishFlags): boolean {
  return flags.attest !== undefined || flags['attest-push'];
}

/** Checks before any work that the attestation file can be written. */
export async function checkPublishFlags(flags: PublishFlags): Promise<void> {
  if (flags.attest !== undefined) await checkAttestationPath(flags.attest);
}

export interface PublishSettings {
  /** Credentials and TLS settings for --attest-push (the load options of A). */
  registry: Parameters<typeof pushAttestation>[2];
  /** No notes on stderr (--quiet, JSON). */
  quiet: boolean;
  env?: NodeJS.ProcessEnv;
  stderr?: (text: string) => void;
}

export async function publishVerifyResult(report: AnyReport, flags: PublishFlags, settings: PublishSettings): Promise<void> {
  const env = settings.env ?? process.env;
  const stderr = settings.stderr ?? ((text: string) => void process.stderr.write(text));
  if (wantsAttestation(flags)) {
    const statement = await attestReport(report, flags.policy !== undefined ? { policyPath: flags.policy } : {});
    if (flags.attest !== undefined) await writeAttestation(flags.attest, statement);
    if (flags['attest-push']) {
      const pushed = await pushAttestation(report, statement, settings.registry);
      if (!settings.quiet) {
        const how = pushed.method === 'api' ? 'referrers API' : `referrers tag ${pushed.tag}`;
        stderr(`oci-repro: attestation pushed: ${pushed.reference} (subject ${pushed.subject.digest}, ${how})\n`);
      }
    }
  }
  if (inGithubActions(env)) await reportToGithubActions(report, { env, write: stderr });
}
