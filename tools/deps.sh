#!/usr/bin/env bash
# Installs the Debian packages the node and its tests need; does nothing when
# everything is already present. Uses sudo only when not root.
set -euo pipefail

packages=(
  build-essential pkg-config cmake
  libuv1-dev libwebsockets-dev libwebsockets-evlib-uv libssl-dev libsrtp2-dev
  libnice-dev libusrsctp-dev libsqlite3-dev libjansson-dev
  dpkg-dev libcmocka-dev curl chromium clang clang-format libclang-rt-14-dev nftables espeak-ng
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-nice gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1 python3-gi coturn firefox-esr
  janus
)

# `deps.sh runtime` (make run, make install): only what building and running
# the node needs; no browser, fuzzer, Node.js or npm.
runtime_packages=(
  build-essential pkg-config cmake
  libuv1-dev libwebsockets-dev libwebsockets-evlib-uv libssl-dev libsrtp2-dev
  libnice-dev libsqlite3-dev libjansson-dev
)
runtime_only=0
if [ "${1:-}" = runtime ]; then
  packages=("${runtime_packages[@]}")
  runtime_only=1
fi
# `deps.sh janus` (bench/run --target janus, bench/compare): Debian's Janus,
# the peer SFU of the bench (make test compares against it too). The bench
# runs its own instance with a config it writes, so the packaged service is
# neither started nor enabled.
if [ "${1:-}" = janus ]; then
  packages=(janus)
  runtime_only=1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done

# Node's test runner drives the integration tests; any node >= 18 will do.
if [ "$runtime_only" = 1 ]; then
  :
elif ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
fi
# Debian packages npm apart from nodejs (NodeSource's nodejs bundles it).
if [ "$runtime_only" = 0 ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "deps: missing packages (${missing[*]}) and not root; install them or run as root" >&2
    exit 1
  }
  as_root=(sudo)
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
with_janus=0
for p in "${missing[@]}"; do
  if [ "$p" = janus ]; then with_janus=1; fi
done
if [ "$with_janus" = 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  # Keep Janus's packaged service from starting during the install
  # (invoke-rc.d and deb-systemd-invoke ask policy-rc.d; 101: not allowed).
  trap '"${as_root[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${as_root[@]}" chmod 755 /usr/sbin/policy-rc.d
fi
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ "$with_janus" = 1 ] && command -v systemctl >/dev/null 2>&1; then
  "${as_root[@]}" systemctl disable --now janus.service >/dev/null 2>&1 || true
fi
