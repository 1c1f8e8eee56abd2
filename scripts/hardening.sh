#!/usr/bin/env bash
# Hardening checks, run by scripts/test.sh in CI (docs/hardening.md):
#   1. builds mutuo with clang, AddressSanitizer + UndefinedBehaviorSanitizer
#      (LeakSanitizer included) and libFuzzer coverage, in build-fuzz/;
#   2. runs every libFuzzer target for a short, bounded time from its seed
#      corpus (the schemas' examples, hostile variants, past crashes);
#   3. runs every unit test and a few integration tests under the sanitizers;
#      any sanitizer report from a program those tests start fails the run.
# Exits non-zero when anything fails; prints the time each phase took.
#
# Environment (all optional):
#   MUTUO_FUZZ_SECONDS       seconds per fuzzer (default 10; docs give a longer run)
#   MUTUO_HARDENING_BUILD    build directory (default <repo>/build-fuzz)
#   MUTUO_HARDENING_TESTS    ctest -R regex of the integration tests to run
#   MUTUO_JOBS               parallel build jobs (default: number of cores)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MUTUO_HARDENING_BUILD:-$repo/build-fuzz}
fuzz_seconds=${MUTUO_FUZZ_SECONDS:-10}
integration=${MUTUO_HARDENING_TESTS:-'^integration\.test_hostile_(agent_input|http)$'}
jobs=${MUTUO_JOBS:-$(nproc)}
fuzzers=(status peer assign check results ack echo_packet dashboard_request)

t0=$(date +%s)
phase_start=$t0
phase() {  # prints the time the previous phase took
  local now; now=$(date +%s)
  echo "hardening: $1 ($((now - phase_start)) s)"
  phase_start=$now
}
failures=()

for tool in clang clang++; do
  command -v "$tool" > /dev/null || {
    echo "hardening: $tool not found; scripts/install-deps.sh test installs it" >&2
    exit 1
  }
done

# 1. Build. -O1 and line tables only: sanitizer reports keep file:line, the
# build stays short. fuzzer-no-link instruments the libraries for libFuzzer.
mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O1 -fsanitize=fuzzer-no-link" \
  -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only -DMUTUO_SANITIZE=ON -DMUTUO_FUZZ=ON \
  > "$build/hardening-configure.log" 2>&1 || {
  cat "$build/hardening-configure.log" >&2
  exit 1
}
# Unit tests left out until their owner fixes them, with the reason; each is
# named in the output (remove it here with the fix):
#   schema_test: clang 14 cannot compile it: it captures a structured binding in
#     a lambda (doctest's CAPTURE, tests/unit/schema_test.cpp:216-218), C++20
#     that clang supports from version 16.
#   health_states_test: heap-use-after-free found by ASan in the test itself:
#     tests/unit/health_states_test.cpp:81 binds `const auto& d` to an element
#     of the temporary vector e.evaluate() returns, destroyed at the `;`.
skip_unit=${MUTUO_HARDENING_SKIP_UNIT:-}
unit_targets=$(cd "$build" && ctest -N -L unit | sed -n 's/.*Test *#[0-9]*: unit\.//p' |
  grep -vxE "${skip_unit// /|}" || true)
[ -n "$skip_unit" ] && echo "hardening: left out until fixed (see scripts/hardening.sh): $skip_unit"
programs="mutuo-agent mutuo-tracker mutuo-receiver mutuo-dashboard"
if ! make -C "$build" -j"$jobs" fuzzers $unit_targets $programs > "$build/hardening-build.log" 2>&1; then
  grep -E "error|Error" "$build/hardening-build.log" | head -40 >&2
  echo "hardening: build failed (full log: $build/hardening-build.log)" >&2
  exit 1
fi
phase "built fuzzers, unit tests and programs with ASan+UBSan"

# Sanitizer settings for everything below. Reports abort the process with a
# non-zero exit; UBSan stops at the first finding too.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$repo/tests/fuzz/lsan.supp:print_suppressions=0"

# 2. Fuzz each target for a bounded time, from its seeds plus what earlier
# local runs found (the work corpus persists in the build directory).
fuzz_dir=$build/tests/fuzz
mkdir -p "$fuzz_dir/crashes"
for t in "${fuzzers[@]}"; do
  work=$fuzz_dir/work/$t
  mkdir -p "$work"
  dict=()
  [ "$t" != echo_packet ] && [ "$t" != dashboard_request ] && dict=(-dict="$fuzz_dir/corpus/messages.dict")
  log=$fuzz_dir/fuzz_$t.log
  if "$fuzz_dir/fuzz_$t" -max_total_time="$fuzz_seconds" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="$fuzz_dir/crashes/$t-" "$work" "$fuzz_dir/corpus/$t" > "$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
    echo "hardening: fuzz_$t: ok, $runs inputs in ${fuzz_seconds} s, $cov"
  else
    echo "hardening: fuzz_$t FAILED; last lines of $log:" >&2
    tail -30 "$log" >&2
    ls "$fuzz_dir/crashes/$t-"* 2>/dev/null | sed 's/^/  crash input: /' >&2 || true
    failures+=("fuzz_$t")
  fi
done
phase "fuzzed ${#fuzzers[@]} targets for ${fuzz_seconds} s each"

# 3a. Unit tests under the sanitizers (reports go to the test's output).
if ! (cd "$build" && ctest -L unit -E "^unit\.(${skip_unit// /|})\$" --output-on-failure --timeout 300 \
      -j"$jobs" > "$build/hardening-unit.log" 2>&1); then
  grep -E "tests passed|Failed|\*\*\*" "$build/hardening-unit.log" >&2 || true
  echo "hardening: unit tests failed under ASan+UBSan (log: $build/hardening-unit.log)" >&2
  failures+=("unit tests")
fi
tail -n 3 "$build/hardening-unit.log" | head -n 1
phase "unit tests under ASan+UBSan+LSan"

# 3b. A few integration tests: the real programs, built with the sanitizers,
# write any report to a file here; one file fails the run.
reports=$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
if ! (cd "$build" && ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$reports/asan" \
      UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$reports/ubsan" \
      ctest -R "$integration" --output-on-failure --timeout 300 > "$build/hardening-integration.log" 2>&1); then
  tail -n 60 "$build/hardening-integration.log" >&2
  failures+=("integration tests")
fi
grep -E "tests passed|Passed|Failed" "$build/hardening-integration.log" || true
if compgen -G "$reports/*" > /dev/null; then
  for f in "$reports"/*; do
    echo "hardening: sanitizer report $f:" >&2
    head -n 40 "$f" >&2
  done
  failures+=("sanitizer reports from programs")
fi
phase "integration tests ($integration) under ASan+UBSan+LSan"

echo "hardening: total $(( $(date +%s) - t0 )) s"
if [ ${#failures[@]} -gt 0 ]; then
  echo "hardening: FAILED: ${failures[*]}" >&2
  exit 1
fi
echo "hardening: all passed"
