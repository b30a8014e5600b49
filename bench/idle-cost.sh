#!/usr/bin/env bash
# bench/idle-cost.sh [--seconds S] [--participants N] [--node-args "..."]:
# what a small call costs the node in CPU, from the kernel's per-thread run
# time (/proc/PID/task/*/schedstat, nanoseconds), for four cases in turn on a
# fresh node each: the node alone; N synthetic participants whose tracks are
# muted (Opus silence at 50 packets/s, a black frame a second); the same with
# Opus DTX (about one packet every 400 ms, 3/s here); camera and mic (audio + 1 Mbit/s video).
# Prints one line per case: % of one core in all, per participant, and how
# often the node's threads ran. SFU_BIN and LOADGEN_BIN point at other builds.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=20
n=2
node_args=""
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) secs=$2; shift 2 ;;
    --participants) n=$2; shift 2 ;;
    --node-args) node_args=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--participants N] [--node-args ARGS]" >&2; exit 2 ;;
  esac
done
sfu=${SFU_BIN:-build/sfu}
loadgen=${LOADGEN_BIN:-build/sfu-loadgen}
[ -x "$sfu" ] && [ -x "$loadgen" ] || { echo "build first: make" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Sum of the run time (ns) and of the times scheduled, over every thread.
sample() {
  local ns=0 runs=0 t a b c
  for t in /proc/"$1"/task/*/schedstat; do
    read -r a b c <"$t" 2>/dev/null || continue
    ns=$((ns + a)); runs=$((runs + c))
  done
  echo "$ns $runs"
}

run_case() {
  local label=$1; shift
  local port rtc data pid lg=""
  port=$(free_port); rtc=$(free_port)
  data=$(mktemp -d)
  # shellcheck disable=SC2086
  "$sfu" --listen 127.0.0.1:"$port" --rtc-port "$rtc" --workers 1 --data "$data" \
    --limit-auth 0 --limit-ws 0 --limit-api 0 --log-level warn $node_args >"$data/node.log" 2>&1 &
  pid=$!
  sleep 1.5
  if [ $# -gt 0 ]; then
    "$loadgen" --url "http://127.0.0.1:$port" --rooms 1 --per-room "$n" --duration $((secs + 8)) \
      --warmup 1 --quiet "$@" >"$data/loadgen.json" 2>"$data/loadgen.err" &
    lg=$!
    sleep 5 # sign-in, join, ICE, DTLS, first keyframes
  fi
  local s0 s1
  s0=$(sample "$pid")
  sleep "$secs"
  s1=$(sample "$pid")
  [ -n "$lg" ] && { kill "$lg" 2>/dev/null || true; wait "$lg" 2>/dev/null || true; }
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
  set -- $s0 $s1
  awk -v ns=$(($3 - $1)) -v runs=$(($4 - $2)) -v s="$secs" -v n="$n" -v label="$label" -v lg="$lg" 'BEGIN {
    pct = ns / 1e9 / s * 100
    if (lg != "") printf "%-34s %7.3f %% of a core, %6.3f %% per participant, %6.0f runs/s\n", label, pct, pct / n, runs / s
    else printf "%-34s %7.3f %% of a core, %6s                   %6.0f runs/s\n", label, pct, "", runs / s
  }'
}

echo "node: $sfu; $n participants; ${secs}s per case"
run_case "node alone"
run_case "muted (silence 50/s, black 1/s)" --audio-bytes 3 --video-kbps 8 --video-fps 1 --video-bytes 1000
run_case "muted with Opus DTX (3/s)" --audio-pps 3 --audio-bytes 3 --video-kbps 8 --video-fps 1 --video-bytes 1000
run_case "camera + mic (1 Mbit/s + Opus)" --video-kbps 1000
