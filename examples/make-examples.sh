#!/usr/bin/env bash
# Builds examples/hello twice with buildah, no cache, and saves the two images as docker-archives
# examples/build-a.tar and examples/build-b.tar: the pair the README's first command compares.
#
# Nothing in the inputs changes between the two builds, so every difference is builder noise:
# created dates, history dates, container ids and hostnames, and the mtimes of the directories
# buildah creates at build time (/usr/share/hello, /usr/local/bin) inside the layers.
#
# Needs buildah (Debian: apt-get install buildah). Run as root, or rootless with subuids set up.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
store=(--root "$work/root" --runroot "$work/runroot" --storage-driver vfs)
cleanup() {
  # A rootless store holds sub-uid files only the user namespace may delete.
  rm -rf "$work" 2>/dev/null || buildah unshare rm -rf "$work"
}
trap cleanup EXIT

# Copy the context and pin its modes and mtimes: the checkout's umask and clone time must not leak
# into the layers, only the builder's own noise should.
context="$work/context"
mkdir -p "$context"
cp "$here/hello/Dockerfile" "$here/hello/greeting.txt" "$here/hello/hello.sh" "$context/"
chmod 644 "$context/Dockerfile" "$context/greeting.txt"
chmod 755 "$context/hello.sh"
touch -d @1700000000 "$context"/*

build() {
  local label="$1"
  # One name for both builds (the second takes it over): buildah writes the local name into the
  # archive's RepoTags, and the two archives should not differ by it.
  buildah "${store[@]}" bud --isolation chroot --layers --no-cache --quiet --format docker \
    -f "$context/Dockerfile" -t localhost/hello:latest "$context" >/dev/null
  # docker-archive refuses to write into an existing file, so write fresh and move into place.
  buildah "${store[@]}" push --quiet localhost/hello:latest \
    "docker-archive:$work/build-$label.tar:localhost/hello:latest"
  mv -f "$work/build-$label.tar" "$here/build-$label.tar"
}

build a
# Directory mtimes have one-second resolution in a tar: wait so the layers differ too, every time.
sleep 2
build b

echo "tools:"
for tool in buildah skopeo; do
  if command -v "$tool" >/dev/null; then echo "  $("$tool" --version)"; fi
done
echo "outputs:"
(cd "$here" && ls -l build-a.tar build-b.tar && sha256sum build-a.tar build-b.tar)
