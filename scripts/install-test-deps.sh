#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only when one is missing, so a
# fresh machine passes `npm test`. Needs root (as on the CI machines) or sudo.
set -euo pipefail

# command -> package
declare -A NEEDED=(
  [openssl]=openssl
  [chromium]=chromium           # browser tests: noVNC in headless Chromium via playwright-core
  [Xvfb]=xvfb                   # a real X display for the VNC server to export
  [x11vnc]=x11vnc               # a real VNC server
  [xdotool]=xdotool             # draws on the test display
  [xsetroot]=x11-xserver-utils  # paints the test display's root window a known colour
  [certutil]=libnss3-tools      # a private NSS database so Chromium trusts a test CA
  [podman]=podman               # image test: builds and runs the Dockerfile (as root, host network)
  [runc]=runc                   # image test: the OCI runtime it selects (--runtime runc)
  [debootstrap]=debootstrap     # image test: the local Node base image (no registry reachable)
  [qemu-system-x86_64]=qemu-system-x86  # SPICE test: a real SPICE server (spice is built into Debian's QEMU)
  [prlimit]=util-linux          # recording test: a file size limit (EFBIG) on the proxy
  [mount]=mount                 # recording test: a 64 KiB tmpfs as a full, then read-only, disk (as root)
  [redis-server]=redis-server   # replay store test: single-use tickets shared through a real Redis
  [promtool]=prometheus          # chart tests: promtool tests the PrometheusRule; a real Prometheus scrapes for the dashboard test
)

missing=()
for cmd in "${!NEEDED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEEDED[$cmd]}")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts the packaged Prometheus as a service on :9090, the proxy's default metrics
# port; the tests start their own Prometheus on a free port, so stop that one.
if printf '%s\n' "${missing[@]}" | grep -qx prometheus && command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
