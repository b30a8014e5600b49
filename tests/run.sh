#!/usr/bin/env bash
# Runs every test suite and ends with one line: "N passed, N failed".
# SUITES=unit|fuzz|integration|e2e|all (default all but e2e when E2E=0).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SUITES=${SUITES:-all}
passed=0
failed=0
failed_names=()

# Counts TAP result lines ("ok N - name" / "not ok N - name") read on stdin.
count_tap() {
  local suite=$1 line
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
      "ok "*) passed=$((passed + 1)) ;;
      "not ok "*) failed=$((failed + 1)); failed_names+=("$suite: ${line#not ok }") ;;
    esac
  done
}

run_unit() {
  local bin
  for bin in "$BUILD"/tests/test_*; do
    [ -x "$bin" ] || continue
    echo "# suite $(basename "$bin")"
    local before=$((passed + failed))
    count_tap "$(basename "$bin")" < <(CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1)
    if [ $((passed + failed)) -eq "$before" ]; then
      failed=$((failed + 1)); failed_names+=("$(basename "$bin"): produced no results")
    fi
  done
}

run_node() {
  local dir=$1 f
  for f in "$dir"/*.test.mjs; do
    [ -f "$f" ] || continue
    echo "# suite $f"
    local before=$((passed + failed))
    # Flat test() calls only: each top-level "ok"/"not ok" line is one test.
    count_tap "$f" < <(SFU_BIN="$PWD/$BUILD/sfu" node --test-reporter=tap "$f" 2>&1)
    if [ $((passed + failed)) -eq "$before" ]; then
      failed=$((failed + 1)); failed_names+=("$f: produced no results")
    fi
  done
}

# Each fuzz target (make fuzz-build) runs a bounded number of inputs: a crash,
# a sanitizer report or a failed invariant is a failure.
run_fuzz() {
  local bin n=0
  echo "# suite fuzz"
  for bin in build/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    n=$((n + 1))
    if "$bin" -runs=30000 -max_total_time=30 -seed=1 >"${TMPDIR:-/tmp}/fuzz-$(basename "$bin").log" 2>&1; then
      echo "ok $n - $(basename "$bin") (30,000 inputs)"; passed=$((passed + 1))
    else
      echo "not ok $n - $(basename "$bin"): see ${TMPDIR:-/tmp}/fuzz-$(basename "$bin").log"
      failed=$((failed + 1)); failed_names+=("fuzz: $(basename "$bin")")
    fi
  done
}

case "$SUITES" in
  unit) run_unit ;;
  fuzz) run_fuzz ;;
  integration) run_node tests/integration ;;
  e2e) run_node tests/e2e ;;
  all) run_unit; run_fuzz; run_node tests/integration; [ "${E2E:-1}" = 1 ] && [ -d tests/e2e ] && run_node tests/e2e ;;
esac

for n in "${failed_names[@]}"; do echo "FAILED: $n"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
