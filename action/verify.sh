#!/usr/bin/env bash
# The run step of action.yml. Inputs arrive as INPUT_* environment variables, never interpolated into
# this script (GitHub's script-injection advice). Runs oci-repro verify (or rebuild for a context) once:
# the report goes to a file, the Markdown summary to the job summary (and to a file the comment step
# reads), the verdict and canonical digests to the step outputs. Always exits 0: the action's last step
# applies the exit code, so the comment is posted whatever the verdict.
set -uo pipefail

bin=${OCI_REPRO_BIN:-oci-repro}
format=${INPUT_FORMAT:-markdown}
temp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
case "$format" in
  text) ext=txt ;; json) ext=json ;; markdown) ext=md ;; junit) ext=xml ;; html) ext=html ;;
  *) echo "::error title=oci-repro::format must be text, json, markdown, junit or html, not $format"; echo "exit-code=2" >>"$GITHUB_OUTPUT"; exit 0 ;;
esac
report=${INPUT_REPORT:-$temp/oci-repro-report.$ext}
summary=$temp/oci-repro-summary.md
: >"$summary"

args=()
if [ -n "${INPUT_CONTEXT:-}" ]; then
  # rebuild writes text or json only.
  case "$format" in text | json) ;; *) format=text ;; esac
  args=(rebuild "$INPUT_CONTEXT" --format "$format")
  [ -n "${INPUT_DOCKERFILE:-}" ] && args+=(--file "$INPUT_DOCKERFILE")
else
  if [ -z "${INPUT_IMAGE_A:-}" ]; then
    echo "::error title=oci-repro::give image-a (with image-b or expect), or context"
    echo "exit-code=2" >>"$GITHUB_OUTPUT"
    exit 0
  fi
  args=(verify "$INPUT_IMAGE_A")
  [ -n "${INPUT_IMAGE_B:-}" ] && args+=("$INPUT_IMAGE_B")
  args+=(--format "$format")
  [ -n "${INPUT_EXPECT:-}" ] && args+=(--expect "$INPUT_EXPECT")
  [ -n "${INPUT_POLICY:-}" ] && args+=(--policy "$INPUT_POLICY")
  [ -n "${INPUT_ATTEST:-}" ] && args+=(--attest "$INPUT_ATTEST")
  [ "${INPUT_ATTEST_PUSH:-false}" = true ] && args+=(--attest-push)
fi
[ -n "${INPUT_PLATFORM:-}" ] && args+=(--platform "$INPUT_PLATFORM")
# Extra flags, split on whitespace (no quoting): e.g. "--strict --epoch 0".
read -r -a extra <<<"${INPUT_ARGS:-}"
args+=("${extra[@]}")

# verify appends its Markdown report to $GITHUB_STEP_SUMMARY: point it at our file, then copy it over.
GITHUB_STEP_SUMMARY=$summary OCI_REPRO_ANNOTATION_FILE=${INPUT_DOCKERFILE:-} $bin "${args[@]}" >"$report"
code=$?

if [ ! -s "$summary" ] && [ -s "$report" ]; then
  # rebuild has no Markdown of its own: its report in a code block.
  { echo '### oci-repro rebuild'; echo; echo '```'; cat "$report"; echo '```'; } >"$summary"
fi
[ -n "${GITHUB_STEP_SUMMARY:-}" ] && cat "$summary" >>"$GITHUB_STEP_SUMMARY"
{
  echo "report=$report"
  echo "summary=$summary"
  echo "exit-code=$code"
  # verify wrote verdict, passed and the canonical digests itself; rebuild did not.
  if [ -n "${INPUT_CONTEXT:-}" ]; then
    case "$code" in 0) echo "verdict=reproducible" ;; 1) echo "verdict=not-reproducible" ;; esac
  fi
} >>"$GITHUB_OUTPUT"
exit 0
