#!/usr/bin/env bash
# Makes a local stand-in for the official Node image, for machines that cannot reach a
# container registry: a minimal Debian bookworm (debootstrap --variant=minbase) with the
# project's pinned Node binary (node_modules/node/bin/node), this machine's npm, and a
# `node` user (uid 1000), imported into podman as IMAGE. The test passes it to the
# Dockerfile as NODE_IMAGE.
#
#   scripts/build-base-image.sh CACHE_DIR IMAGE
#
# podman's configuration comes from the environment (CONTAINERS_CONF,
# CONTAINERS_STORAGE_CONF, ...), as the test sets it. The debootstrapped tree is cached
# in CACHE_DIR/rootfs and made only when missing; the image is re-imported only when its
# inputs (Node and npm versions, trusted CAs, this script) change. Needs root.
set -euo pipefail

cache=${1:?usage: build-base-image.sh CACHE_DIR IMAGE}
image=${2:?usage: build-base-image.sh CACHE_DIR IMAGE}
root=$(cd "$(dirname "$0")/.." && pwd)
node_bin="$root/node_modules/node/bin/node"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache"
rootfs="$cache/rootfs"

[ -x "$node_bin" ] || { echo "build-base-image: $node_bin missing (run npm ci)" >&2; exit 1; }
npm_dir="$(npm root -g 2>/dev/null)/npm"
[ -f "$npm_dir/package.json" ] || { echo "build-base-image: no npm at $npm_dir" >&2; exit 1; }

if [ ! -f "$rootfs/.wsgate-complete" ]; then
  rm -rf "$rootfs" "$rootfs.tmp"
  echo "build-base-image: debootstrap bookworm (minbase) from $mirror" >&2
  debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror" >&2
  # What a slim image leaves out.
  rm -rf "$rootfs.tmp"/var/cache/apt/* "$rootfs.tmp"/var/lib/apt/lists/* \
    "$rootfs.tmp"/usr/share/doc/* "$rootfs.tmp"/usr/share/man/* "$rootfs.tmp"/usr/share/info/* \
    "$rootfs.tmp"/usr/share/locale/* "$rootfs.tmp"/var/log/* "$rootfs.tmp"/tmp/*
  touch "$rootfs.tmp/.wsgate-complete"
  mv "$rootfs.tmp" "$rootfs"
fi

# A TLS-intercepting egress proxy (as on these machines) is trusted through
# NODE_EXTRA_CA_CERTS on the host; the image trusts the same bundle so `npm ci` works
# inside the build. Without it, the image keeps Node's built-in CAs only.
ca_env=()
ca_sum=none
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  install -D -m 0644 "$NODE_EXTRA_CA_CERTS" "$rootfs/etc/ssl/certs/host-extra-ca.pem"
  ca_env=(--change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-extra-ca.pem")
  ca_sum=$(sha256sum "$NODE_EXTRA_CA_CERTS" | cut -c1-16)
fi

node_version=$("$node_bin" --version)
npm_version=$("$node_bin" -p "require('$npm_dir/package.json').version")
stamp="node=$node_version npm=$npm_version ca=$ca_sum script=$(sha256sum "$0" | cut -c1-16)"
current=$(podman image inspect --format '{{index .Labels "wsgate.base.stamp"}}' "$image" 2>/dev/null || true)
if [ "$current" = "$stamp" ]; then
  echo "build-base-image: $image is current ($stamp)" >&2
  exit 0
fi

install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
rm -rf "$rootfs/usr/local/lib/node_modules/npm"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
# The official image's user: node, uid and gid 1000, home /home/node.
grep -q '^node:' "$rootfs/etc/group" || echo 'node:x:1000:' >>"$rootfs/etc/group"
grep -q '^node:' "$rootfs/etc/passwd" ||
  echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$rootfs/etc/passwd"
grep -q '^node:' "$rootfs/etc/shadow" || echo 'node:!:19000::::::' >>"$rootfs/etc/shadow"
install -d -o 1000 -g 1000 "$rootfs/home/node"

echo "build-base-image: importing $image ($stamp)" >&2
tar --numeric-owner --exclude=./.wsgate-complete -C "$rootfs" -c . |
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "${ca_env[@]}" \
    --change "LABEL wsgate.base.stamp=\"$stamp\"" \
    --change 'CMD ["node"]' \
    - "$image" >/dev/null
echo "build-base-image: $image ready" >&2
