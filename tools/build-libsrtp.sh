#!/usr/bin/env bash
# tools/build-libsrtp.sh OUT_DIR: builds the libsrtp2 that Debian ships, from
# Debian's own source package, with its OpenSSL crypto back end
# (./configure --enable-openssl) as a static library under OUT_DIR/libsrtp2,
# runs its self-tests and writes OUT_DIR/libsrtp2.mk for the Makefile.
#
# Debian builds libsrtp2 on NSS, which sets up a crypto context per packet
# (STACK_NOTES: 3.2 vs 10.3 us per 1,200-byte AES-CM packet). When the static
# library cannot be had, the .mk says so with a warning and the node links the
# system library instead:
#   - a tool or the system package is missing (before tools/deps.sh ran): the
#     .mk is left out of date, so the next make tries again;
#   - fetching, building or a self-test failed: the .mk stays (the log is in
#     OUT_DIR/libsrtp2-build.log); remove OUT_DIR/libsrtp2.mk to try again.
set -uo pipefail
. "$(dirname "$0")/debian-source.sh"

out=${1:-build/third_party}
mk=$out/libsrtp2.mk
prefix=$out/libsrtp2
src=$out/src
aptdir=$out/apt
log=$out/libsrtp2-build.log
mkdir -p "$out"
out_abs=$(cd "$out" && pwd)
third_party_lock "$out" libsrtp2

write_static_mk() {
  cat >"$mk.tmp" <<EOF
# Written by tools/build-libsrtp.sh: libsrtp2 $1 on OpenSSL, static.
SRTP_STATIC  := 1
SRTP_VERSION := $1
SRTP_CFLAGS  := -I$prefix/include -DSFU_SRTP_OPENSSL=1
SRTP_LIBS    := $prefix/lib/libsrtp2.a
EOF
  mv "$mk.tmp" "$mk"
}

# $1: "retry" (leave the .mk out of date) or "keep"; $2: the reason.
fallback() { third_party_fallback "$mk" SRTP "libsrtp2 on OpenSSL" libsrtp2 "$@"; }

# The same source version as the installed development package.
command -v dpkg-query >/dev/null 2>&1 || fallback retry "not a Debian system (no dpkg-query)"
version=$(dpkg-query -W -f='${source:Version}' libsrtp2-dev 2>/dev/null)
[ -n "$version" ] || fallback retry "libsrtp2-dev not installed; tools/deps.sh installs it"
upstream=${version%-*}
upstream=${upstream#*:}

# Already built from this version and verified.
if [ -f "$prefix/lib/libsrtp2.a" ] && [ "$(cat "$prefix/VERSION" 2>/dev/null)" = "$version" ]; then
  write_static_mk "$version"
  exit 0
fi

need_tools cc make apt-get dpkg-source awk
echo "libsrtp2: building $version on OpenSSL into $prefix (log: $log)" >&2
: >"$log"

why=$(debian_source "libsrtp2=$version" "$src" "$aptdir" "$log") || fallback keep "$why"
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name "libsrtp2-*" | head -1)
[ -n "$tree" ] && [ -x "$tree/configure" ] || fallback keep "the source package did not unpack"

jobs=$(nproc 2>/dev/null || echo 2)
(
  cd "$tree" &&
    ./configure --enable-openssl --disable-stdout --prefix="$out_abs/libsrtp2" \
      CFLAGS="-O2 -fPIC -D_REENTRANT" &&
    make -j"$jobs" libsrtp2.a test
) >>"$log" 2>&1 || fallback keep "configure or make failed"

# libsrtp's own self-tests: cipher and HMAC known-answer tests, the SRTP
# driver's RFC 3711 / RFC 7714 vectors, the replay database.
for t in "crypto/test/cipher_driver -v" "crypto/test/kernel_driver -v" test/test_srtp \
  "test/srtp_driver -v" "test/rdbx_driver -v"; do
  (cd "$tree" && $t) >>"$log" 2>&1 || fallback keep "self-test ${t%% *} failed"
done
grep -q "AES-128 counter mode using openssl...passed" "$log" ||
  fallback keep "the build does not use OpenSSL's AES"

rm -rf "$prefix"
(cd "$tree" && make install) >>"$log" 2>&1 || fallback keep "make install failed"
echo "$version" >"$prefix/VERSION"
rm -rf "$tree"
write_static_mk "$version"
echo "libsrtp2: $version on OpenSSL built and verified" >&2
