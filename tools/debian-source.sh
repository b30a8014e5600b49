# Sourced by tools/build-*.sh: what building a library from Debian's source
# takes, for each of them.
#
# third_party_lock OUT NAME: one build of NAME at a time (make and make
# SANITIZE=1 share OUT).
third_party_lock() {
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$1/.$2.lock"
  flock 9
}

# third_party_fallback MK VAR WHAT SYSTEM MODE WHY: writes MK so that the
# build links the system's SYSTEM instead (VAR_STATIC := 0), with a warning
# naming WHAT and WHY on every make, and exits 0. MODE "retry" leaves MK out
# of date, so the next make tries again; "keep" keeps it until it is removed.
third_party_fallback() {
  local mk=$1 var=$2 what=$3 system=$4 mode=$5 why=$6
  echo "warning: $what not built ($why); linking the system $system" >&2
  cat >"$mk.tmp" <<MK
# Written by tools/$(basename "$0"): the static build was not possible.
${var}_STATIC := 0
${var}_CFLAGS :=
${var}_LIBS   :=
\$(warning $what not built ($why); linking the system $system)
MK
  mv "$mk.tmp" "$mk"
  [ "$mode" = retry ] && touch -d @0 "$mk"
  exit 0
}

# need_tools TOOL...: each script's own fallback (for a retry) when one is
# missing.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || fallback retry "$tool missing; tools/deps.sh installs it"
  done
}

# Fetches a Debian source package of this release with a private apt
# configuration (deb-src twins of the system's Debian entries, with their own
# lists), so the system's apt is untouched.
#
# debian_source PACKAGE=VERSION DEST APTDIR LOG: unpacks the package (with
# Debian's patches applied by dpkg-source, as Debian's own build does) into
# DEST. On failure it prints the reason and returns 1.

debian_source() {
  local spec=$1 dest=$2 aptdir=$3 log=$4 codename f
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  rm -rf "$aptdir"
  mkdir -p "$aptdir/sources.list.d" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
  aptdir=$(cd "$aptdir" && pwd)
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
    echo "no Debian $codename entry in the apt sources to derive deb-src from"
    return 1
  fi

  local apt_opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list"
    -o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
    -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
    -o APT::Sandbox::User=root -o Acquire::Retries=2 -o Acquire::http::Timeout=30)
  if ! timeout 300 apt-get "${apt_opts[@]}" -q update >>"$log" 2>&1; then
    echo "apt-get update of the deb-src lists failed"
    return 1
  fi
  # apt checks the files against the signed Sources index.
  rm -rf "$dest"
  mkdir -p "$dest"
  if ! (cd "$dest" && timeout 300 apt-get "${apt_opts[@]}" -q source "$spec") >>"$log" 2>&1; then
    echo "apt-get source $spec failed"
    return 1
  fi
  rm -rf "$aptdir"
}
