#!/usr/bin/env bash
# Installs the Debian packages the node and its tests need; does nothing when
# everything is already present. Uses sudo only when not root.
set -euo pipefail

packages=(
  build-essential pkg-config
  libuv1-dev libwebsockets-dev libwebsockets-evlib-uv libssl-dev libsrtp2-dev
  libnice-dev libusrsctp-dev libsqlite3-dev libjansson-dev
  libcmocka-dev curl chromium clang clang-format libclang-rt-14-dev nftables espeak-ng
  coturn firefox-esr
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done

# Node's test runner drives the integration tests; any node >= 18 will do.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
fi
# Debian packages npm apart from nodejs (NodeSource's nodejs bundles it).
if ! command -v npm >/dev/null 2>&1; then
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
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
