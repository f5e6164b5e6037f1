/**
 * A changed Dockerfile step shows twice in a config: as the history step (`ENV a b` -> `ENV a c`) and
 * as the field the step sets (`/config/Env/1`). The catalogue explains the step (`dockerfile-changed`);
 * a field difference alone cannot say what set it, so here, with all config differences in view, the
 * fields that changed steps set are found, and the catalogue's `set-by-changed-step` predicate (on
 * `dockerfile-changed`) names them. Only differences the catalogue leaves unexplained without that
 * context are touched: a build date in a label stays `created-label`.
 */
import type { Difference } from '../diff/model.js';
import { type CauseEntry, causeCatalogue } from '../causes/catalogue.js';
import { explainDifference, matchCause } from '../causes/match.js';

export const stepCauseId = 'dockerfile-changed';

/** The config fields (under `/config` and `/container_config`) each instruction sets. */
const fieldsOfInstruction: Readonly<Record<string, readonly string[]>> = {
  ENV: ['Env'],
  LABEL: ['Labels'],
  CMD: ['Cmd'],
  // ENTRYPOINT resets an inherited CMD.
  ENTRYPOINT: ['Entrypoint', 'Cmd'],
  WORKDIR: ['WorkingDir'],
  USER: ['User'],
  EXPOSE: ['ExposedPorts'],
  VOLUME: ['Volumes'],
  STOPSIGNAL: ['StopSignal'],
  HEALTHCHECK: ['Healthcheck'],
  SHELL: ['Shell'],
  ONBUILD: ['OnBuild'],
};

/**
 * The instruction of a history `created_by` as builders write it: `/bin/sh -c #(nop) ENV a b`
 * (classic builder, buildah), `ENV a=b # buildkit`, `RUN /bin/sh -c make`; null for a RUN in the
 * classic form (`/bin/sh -c make`, `|1 X=2 /bin/sh -c make`), which sets no config field.
 */
export function instructionOf(createdBy: unknown): string | null {
  if (typeof createdBy !== 'string') return null;
  const match = /^(?:\/bin\/sh -c\s+)?(?:#\(nop\)\s*)?([A-Z]+)(?:\s|$)/.exec(createdBy.trimStart());
  return match?.[1] ?? null;
}

/**
 * Explains, in place, the config field differences that a changed step sets, and returns the list. A
 * changed step is a history difference the catalogue names `dockerfile-changed`; both its sides'
 * instructions count (`ENV` -> `LABEL` changes Env and Labels).
 */
export function explainStepFields(differences: Difference[], catalogue: readonly CauseEntry[] = causeCatalogue): Difference[] {
  const stepFields = new Set<string>();
  for (const difference of differences) {
    if (difference.kind !== 'config-field' || !/^\/history\/\d+(\/created_by)?$/.test(difference.path)) continue;
    if (matchCause(difference, catalogue)?.id !== stepCauseId) continue;
    const step = (value: unknown) => (difference.path.endsWith('/created_by') ? value : (value as { created_by?: unknown } | null)?.created_by);
    for (const instruction of [instructionOf(step(difference.a)), instructionOf(step(difference.b))]) {
      for (const field of fieldsOfInstruction[instruction ?? ''] ?? []) stepFields.add(field);
    }
  }
  if (stepFields.size === 0) return differences;
  for (const difference of differences) {
    if (difference.kind !== 'config-field' || difference.cause !== null || matchCause(difference, catalogue) !== null) continue;
    explainDifference(difference, catalogue, { stepFields });
  }
  return differences;
}
