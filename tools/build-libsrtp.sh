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

out=${1:-build/third_party}
mk=$out/libsrtp2.mk
prefix=$out/libsrtp2
src=$out/src
aptdir=$out/apt
log=$out/libsrtp2-build.log
mkdir -p "$out"
out_abs=$(cd "$out" && pwd)
# One build at a time (make and make SANITIZE=1 share OUT).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out/.libsrtp2.lock"
  flock 9
fi

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
fallback() {
  local why=$2
  echo "warning: libsrtp2 on OpenSSL not built ($why); linking the system libsrtp2" >&2
  cat >"$mk.tmp" <<EOF
# Written by tools/build-libsrtp.sh: the static build was not possible.
SRTP_STATIC  := 0
SRTP_CFLAGS  :=
SRTP_LIBS    :=
\$(warning libsrtp2 on OpenSSL not built ($why); linking the system libsrtp2)
EOF
  mv "$mk.tmp" "$mk"
  [ "$1" = retry ] && touch -d @0 "$mk"
  exit 0
}

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

for tool in cc make apt-get dpkg-source awk; do
  command -v "$tool" >/dev/null 2>&1 || fallback retry "$tool missing; tools/deps.sh installs it"
done
echo "libsrtp2: building $version on OpenSSL into $prefix (log: $log)" >&2
: >"$log"

# A private apt configuration: deb-src twins of the system's Debian entries
# for this release, with their own lists, so the system's apt is untouched.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
rm -rf "$aptdir"
mkdir -p "$aptdir/sources.list.d" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  # deb822 stanzas with a deb type and a suite of this release.
  awk -v code="$codename" '
    function flush() {
      if (stanza != "" && types ~ /(^| )deb( |$)/ && suites ~ ("(^| )" code "([- ]|$)") && enabled !~ /no/)
        printf "%s\n", stanza
      stanza = ""; types = ""; suites = ""; enabled = ""
    }
    /^[ \t]*$/ { flush(); next }
    /^#/ { next }
    /^Types:/ { types = $0; sub(/^Types:[ \t]*/, "", types); stanza = stanza "Types: deb-src\n"; next }
    /^Suites:/ { suites = $0; sub(/^Suites:[ \t]*/, "", suites) }
    /^Enabled:/ { enabled = tolower($0) }
    { stanza = stanza $0 "\n" }
    END { flush() }
  ' "$f" >>"$aptdir/sources.list.d/debian-src.sources"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  awk -v code="$codename" '$1 == "deb" {
      for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i ~ /:\/\//) break
      if ($(i + 1) ~ ("^" code "([-/]|$)")) { $1 = "deb-src"; print }
    }' "$f" >>"$aptdir/sources.list"
done
touch "$aptdir/sources.list"
if ! grep -q deb-src "$aptdir/sources.list" "$aptdir/sources.list.d/debian-src.sources" 2>/dev/null; then
  fallback keep "no Debian $codename entry in the apt sources to derive deb-src from"
fi

apt_opts=(-o "Dir::Etc::SourceList=$out_abs/apt/sources.list"
  -o "Dir::Etc::SourceParts=$out_abs/apt/sources.list.d"
  -o "Dir::State::Lists=$out_abs/apt/lists" -o "Dir::Cache=$out_abs/apt/cache"
  -o APT::Sandbox::User=root -o Acquire::Retries=2 -o Acquire::http::Timeout=30)
timeout 300 apt-get "${apt_opts[@]}" -q update >>"$log" 2>&1 ||
  fallback keep "apt-get update of the deb-src lists failed"

# apt checks the files against the signed Sources index; dpkg-source applies
# Debian's patches, as Debian's own build does.
rm -rf "$src"
mkdir -p "$src"
(cd "$src" && timeout 300 apt-get "${apt_opts[@]}" -q source "libsrtp2=$version") >>"$log" 2>&1 ||
  fallback keep "apt-get source libsrtp2=$version failed"
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
rm -rf "$aptdir" "$tree"
write_static_mk "$version"
echo "libsrtp2: $version on OpenSSL built and verified" >&2
