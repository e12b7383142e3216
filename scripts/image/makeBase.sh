#!/usr/bin/env bash
# Makes, on an offline machine, the two base images deploy/Dockerfile starts FROM, so that the
# Dockerfile builds here exactly as a user builds it with docker:
#   docker.io/library/debian:bookworm-slim  debootstrap --variant=minbase bookworm
#   docker.io/library/node:20-bookworm-slim that tree plus this host's Node 20 (binary, headers, npm)
# laid out as the official image lays it out (/usr/local/bin/node, /usr/local/include/node,
# /usr/local/lib/node_modules/npm, user node 1000).
# Cached: a rerun with the same Node version does nothing (the images carry it as a label).
# Usage: scripts/image/makeBase.sh [--force]     (root; podman, debootstrap)
set -euo pipefail

PODMAN=(podman --runtime runc)
DEBIAN_TAG=docker.io/library/debian:bookworm-slim
NODE_TAG=docker.io/library/node:20-bookworm-slim
NODE_BIN=$(command -v node)
NODE_VERSION=$("$NODE_BIN" --version)
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
NODE_INCLUDE=$(dirname "$(dirname "$NODE_BIN")")/include/node
say() { printf 'makeBase: %s\n' "$*"; }

case "$NODE_VERSION" in v20.*) ;; *) say "host Node is $NODE_VERSION; the Dockerfile's FROM is Node 20" >&2; exit 1 ;; esac
[[ -f $NODE_INCLUDE/node.h ]] || { say "no Node headers at $NODE_INCLUDE (node-gyp needs them offline)" >&2; exit 1; }

label() { "${PODMAN[@]}" image inspect --format "{{index .Labels \"$2\"}}" "$1" 2>/dev/null || true; }
if [[ ${1:-} != --force && $(label "$NODE_TAG" berth.base.node) == "$NODE_VERSION" ]]; then
  say "$NODE_TAG ($NODE_VERSION) already built; --force to rebuild"
  exit 0
fi

# The mirror apt itself uses (deb822 sources first, then the classic list).
MIRROR=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 || true)
[[ -n $MIRROR ]] || MIRROR=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
[[ -n $MIRROR ]] || { say 'no Debian mirror found in apt sources' >&2; exit 1; }

work=$(mktemp -d /var/tmp/berth-image-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
started=$SECONDS

if [[ ${1:-} == --force || -z $(label "$DEBIAN_TAG" berth.base.debian) ]]; then
  say "debootstrap --variant=minbase bookworm from $MIRROR"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$MIRROR" > "$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  # What the official slim image leaves out as well: package caches and lists, docs, man pages.
  rm -rf "$work"/rootfs/var/cache/apt/*.bin "$work"/rootfs/var/lib/apt/lists/* \
    "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/* "$work"/rootfs/usr/share/info/*
  tar -C "$work/rootfs" --numeric-owner -cf - . | "${PODMAN[@]}" import \
    --change 'CMD ["bash"]' --change "LABEL berth.base.debian=bookworm-minbase" - "$DEBIAN_TAG" > /dev/null
  say "$DEBIAN_TAG imported"
fi

mkdir -p "$work/ctx"
cp "$NODE_BIN" "$work/ctx/node"
cp -a "$NPM_DIR" "$work/ctx/npm"
cp -a "$NODE_INCLUDE" "$work/ctx/include"
cat > "$work/ctx/Containerfile" <<CONTAINERFILE
FROM $DEBIAN_TAG
COPY node /usr/local/bin/node
COPY include /usr/local/include/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
LABEL berth.base.node=$NODE_VERSION
CMD ["node"]
CONTAINERFILE
"${PODMAN[@]}" build --quiet --network none --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 \
  -t "$NODE_TAG" "$work/ctx" > /dev/null
say "$NODE_TAG (Node $NODE_VERSION, npm $(npm --version)) built in $((SECONDS - started)) s"
