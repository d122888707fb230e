#!/usr/bin/env bash
# Builds neural-host and every plugin for each release platform into dist/
# as NAME_vVERSION_OS_ARCH.tar.gz plus SHA256SUMS. dist/ is then a plugin
# mirror: 'neural-host plugins install --mirror dist NAME'. Each plugin has
# its own version (plugins/NAME/VERSION), so each archive is named by it.
# Usage: scripts/release.sh [NAME...]   (default: the host and every plugin)
set -euo pipefail
cd "$(dirname "$0")/.."
platforms=${PLATFORMS:-"linux_amd64 linux_arm64 darwin_amd64 darwin_arm64"}
dist=${DIST:-dist}
mkdir -p "$dist"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(host)
  for v in plugins/*/VERSION; do targets+=("$(basename "$(dirname "$v")")"); done
fi

pack() { # pack BINARY ARCHIVE: a deterministic tar.gz holding one file
  local bin=$1 archive=$2 dir
  dir=$(dirname "$bin")
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf - "$(basename "$bin")" | gzip -n > "$archive"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for target in "${targets[@]}"; do
  if [ "$target" = host ]; then
    name=neural-host pkg=./host/cmd/neural-host version=$(cat host/cmd/neural-host/VERSION)
  else
    name=neural-plugin-$target pkg=./plugins/$target version=$(cat "plugins/$target/VERSION")
  fi
  tags=$(cat "$pkg/TAGS" 2>/dev/null || true)
  for p in $platforms; do
    os=${p%_*} arch=${p#*_}
    mkdir -p "$tmp/$p"
    CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -tags "$tags" -trimpath -ldflags="-s -w" -o "$tmp/$p/$name" "$pkg"
    pack "$tmp/$p/$name" "$dist/${name}_v${version}_${p}.tar.gz"
    echo "$dist/${name}_v${version}_${p}.tar.gz"
  done
done
(cd "$dist" && sha256sum ./*.tar.gz | sed 's#  \./#  #' | sort -k2 > SHA256SUMS.new)
# Keep lines for archives built earlier that this run did not rebuild.
if [ -f "$dist/SHA256SUMS" ]; then
  sort -k2 -u "$dist/SHA256SUMS.new" "$dist/SHA256SUMS" | awk '!seen[$2]++' > "$dist/SHA256SUMS.merged"
  mv "$dist/SHA256SUMS.merged" "$dist/SHA256SUMS"; rm "$dist/SHA256SUMS.new"
else
  mv "$dist/SHA256SUMS.new" "$dist/SHA256SUMS"
fi
echo "$dist/SHA256SUMS"
