#!/usr/bin/env bash
# The comment step of action.yml: posts the Markdown report on the pull request, or edits the comment
# it posted before (found by a hidden HTML marker), so a PR has one oci-repro comment per marker, not
# one per push. Uses the GitHub CLI (`gh api`, preinstalled on GitHub-hosted runners) with GH_TOKEN.
# Needs: PR_NUMBER, GITHUB_REPOSITORY, SUMMARY_FILE; MARKER_ID names the comment (several gates, several comments).
set -euo pipefail

marker="<!-- oci-repro-report:${MARKER_ID:-default} -->"
body=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/oci-repro-comment.md
{ echo "$marker"; cat "$SUMMARY_FILE"; } >"$body"

existing=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" \
  --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$existing" -F "body=@$body" >/dev/null
  echo "oci-repro: updated comment $existing"
else
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -F "body=@$body" >/dev/null
  echo "oci-repro: posted a comment"
fi
