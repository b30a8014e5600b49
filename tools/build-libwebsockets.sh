#!/usr/bin/env bash
# tools/build-libwebsockets.sh OUT_DIR: builds the libwebsockets that Debian
# ships, from Debian's own source package, with the node's patches
# (tools/patches/libwebsockets/*.patch, applied in name order) as a static
# library under OUT_DIR/libwebsockets, and writes OUT_DIR/libwebsockets.mk for
# the Makefile.
#
# The patches fix the HTTP/1 request head (a header name that is the start of
# a known one, 414/431 instead of a silent close, empty lines before the
# request line) and refuse unmasked client WebSocket frames; each patch says
# what it changes. The build keeps Debian's options, with libuv built in
# rather than as a plugin, and without the libev/glib loops and the
# permessage-deflate extension, which the node does not use.
#
# When the static library cannot be had, the .mk says so with a warning and
# the node links the system library, without those fixes:
#   - a tool or the system package is missing (before tools/deps.sh ran): the
#     .mk is left out of date, so the next make tries again;
#   - fetching, patching or building failed: the .mk stays (the log is in
#     OUT_DIR/libwebsockets-build.log); remove OUT_DIR/libwebsockets.mk to try
#     again.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/debian-source.sh"

out=${1:-build/third_party}
mk=$out/libwebsockets.mk
prefix=$out/libwebsockets
src=$out/src-libwebsockets
aptdir=$out/apt-libwebsockets
log=$out/libwebsockets-build.log
mkdir -p "$out"
out_abs=$(cd "$out" && pwd)
third_party_lock "$out" libwebsockets

write_static_mk() {
  local libs="$prefix/lib/libwebsockets.a"
  grep -q '^#define LWS_HAVE_LIBCAP' "$prefix/include/lws_config.h" && libs="$libs -lcap"
  cat >"$mk.tmp" <<MK
# Written by tools/build-libwebsockets.sh: libwebsockets $1, patched, static.
LWS_STATIC  := 1
LWS_VERSION := $1
LWS_CFLAGS  := -I$prefix/include
LWS_LIBS    := $libs
MK
  mv "$mk.tmp" "$mk"
}

# $1: "retry" (leave the .mk out of date) or "keep"; $2: the reason.
fallback() { third_party_fallback "$mk" LWS "patched libwebsockets" libwebsockets "$@"; }

# The same source version as the installed development package.
command -v dpkg-query >/dev/null 2>&1 || fallback retry "not a Debian system (no dpkg-query)"
version=$(dpkg-query -W -f='${source:Version}' libwebsockets-dev 2>/dev/null)
[ -n "$version" ] || fallback retry "libwebsockets-dev not installed; tools/deps.sh installs it"
patches=("$here"/patches/libwebsockets/*.patch)
# The build is identified by the source version and the patches' contents.
stamp="$version $(cat "${patches[@]}" "$0" | sha256sum | cut -c1-16)"

if [ -f "$prefix/lib/libwebsockets.a" ] && [ "$(cat "$prefix/VERSION" 2>/dev/null)" = "$stamp" ]; then
  write_static_mk "$stamp"
  exit 0
fi

need_tools cc make cmake patch apt-get dpkg-source awk
echo "libwebsockets: building $version with the node's patches into $prefix (log: $log)" >&2
: >"$log"

why=$(debian_source "libwebsockets=$version" "$src" "$aptdir" "$log") || fallback keep "$why"
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name "libwebsockets-*" | head -1)
[ -n "$tree" ] && [ -f "$tree/CMakeLists.txt" ] || fallback keep "the source package did not unpack"
for p in "${patches[@]}"; do
  (cd "$tree" && patch -p1 --forward --batch) <"$p" >>"$log" 2>&1 ||
    fallback keep "patch $(basename "$p") does not apply to $version"
done

jobs=$(nproc 2>/dev/null || echo 2)
rm -rf "$prefix"
(
  mkdir -p "$tree/build" && cd "$tree/build" &&
    cmake .. -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$out_abs/libwebsockets" \
      -DCMAKE_C_FLAGS="-O2 -fPIC -Wno-error=deprecated-declarations -fno-strict-aliasing" \
      -DLWS_WITH_STATIC=ON -DLWS_WITH_SHARED=OFF \
      -DLWS_WITH_LIBUV=ON -DLWS_WITH_EVLIB_PLUGINS=OFF \
      -DLWS_IPV6=ON -DLWS_UNIX_SOCK=ON -DLWS_WITHOUT_DAEMONIZE=OFF \
      -DLWS_WITHOUT_TESTAPPS=ON -DLWS_WITH_MINIMAL_EXAMPLES=OFF &&
    make -j"$jobs" && make install
) >>"$log" 2>&1 || fallback keep "cmake or make failed"
[ -f "$prefix/lib/libwebsockets.a" ] || fallback keep "no libwebsockets.a was installed"
echo "$stamp" >"$prefix/VERSION"
rm -rf "$src"
write_static_mk "$stamp"
echo "libwebsockets: $version with the node's patches built" >&2
