#!/usr/bin/env bash
# Sanitizer and fuzzing pass (docs/hardening.md), in two sizes:
#
#   scripts/hardening.sh --ci   a clang unity build, -O0, in build-asan/, with
#       AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included):
#       the unit tests, the libFuzzer targets (libFuzzer coverage on the
#       libraries they exercise) and the four programs; every fuzzer for a
#       short, bounded time; every unit test; six integration tests with
#       those programs (hostile agents, three fault drills, the tracker's
#       standby, the dashboard's API), where any sanitizer report from a
#       program fails the run. This tree is where the unit tests are built:
#       scripts/test.sh runs the build phase beside its own build and the
#       integration tests, then fuzz,integration, and the unit tests from
#       build/'s ctest (MUTUO_UNIT_TESTS_FROM, tests/unit/CMakeLists.txt).
#   scripts/hardening.sh        the long local run (MUTUO_HARDENING=1 scripts/test.sh):
#       the same at -O1 in build-fuzz/, for a longer fuzzing run or more
#       integration tests (MUTUO_HARDENING_TESTS; by default the hostile HTTP
#       clients' test too).
#
#   --phase LIST    the phases to run, comma separated (default
#                   build,fuzz,test,integration):
#                   build        configure and build; its outcome goes to
#                                <build>/hardening-build.status (ok or failed)
#                   fuzz         run the fuzzers
#                   test         the unit tests
#                   integration  integration tests with the sanitized programs
#                   The others build first when no build phase finished.
#
# Exits non-zero when anything fails; prints the time each phase took.
#
# Environment (all optional):
#   MUTUO_FUZZ_SECONDS       seconds per fuzzer (default 10; docs give a longer run)
#   MUTUO_HARDENING_BUILD    build directory (default <repo>/build-asan with --ci,
#                            <repo>/build-fuzz otherwise)
#   MUTUO_HARDENING_TESTS    ctest -R regex of the integration tests to run
#   MUTUO_TEST_SCALE         percent of the unit tests' generated loops (default
#                            100; tests/unit/test_scale.h), to shorten a local run
#   MUTUO_JOBS               parallel build jobs (default: number of cores)
#   MUTUO_HARDENING_PROGRAMS programs built with the sanitizers (default the four;
#                            empty: none, for a pass without the integration phase)
#   MUTUO_TOOLS_DIR          the build whose bench/ tools (load, simulated agents)
#                            drive the integration tests (default MUTUO_BUILD_DIR,
#                            else <repo>/build)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ci=0
phase_arg=build,fuzz,test,integration
while [ $# -gt 0 ]; do
  case "$1" in
    --ci) ci=1 ;;
    --phase) phase_arg=${2:?--phase needs a list of build, fuzz, test, integration}; shift ;;
    --phase=*) phase_arg=${1#--phase=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "hardening: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for p in ${phase_arg//,/ }; do
  case "$p" in build|fuzz|test|integration) ;; *) echo "hardening: --phase takes build, fuzz, test, integration (comma separated)" >&2; exit 2 ;; esac
done
wants() { [[ ",$phase_arg," == *",$1,"* ]]; }
if [ $ci = 1 ]; then
  build=${MUTUO_HARDENING_BUILD:-$repo/build-asan}
  opt=-O0  # the build is most of this pass's cost; -O1 took 2.5 times as long
else
  build=${MUTUO_HARDENING_BUILD:-$repo/build-fuzz}
  opt=-O1  # the programs run the integration tests: keep them fast enough
fi
fuzz_seconds=${MUTUO_FUZZ_SECONDS:-10}
# The integration tests run with the sanitized programs: in CI the hostile
# agents on the bus (the receiver, tracker and dashboard decoding what they
# send), the fault drills that restart the broker, fill the receiver's disk and
# kill the receiver, the tracker's standby taking over, and the dashboard's
# API with its sessions and roles (its HTTP parsing is fuzzed under the
# sanitizers already); in the long run the hostile HTTP clients too.
sanitized='hostile_agent_input|drill_broker_restart|drill_receiver_disk_full|receiver_survives_kills|tracker_standby|dashboard_api_auth'
if [ $ci = 1 ]; then
  integration=${MUTUO_HARDENING_TESTS:-"^integration\.test_($sanitized)\$"}
else
  integration=${MUTUO_HARDENING_TESTS:-"^integration\.test_($sanitized|hostile_http)\$"}
fi
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

# 1. Build. Line tables only: sanitizer reports keep file:line, the build
# stays short. tests/fuzz/unity.cmake (loaded with CMAKE_PROJECT_INCLUDE) adds
# libFuzzer coverage to the libraries the fuzzers exercise only, one
# precompiled header shared by the unit tests, and the unity exceptions below.
# A unity build (several .cpp files compiled as one) roughly halves the time; a
# file that clashes in its unity batch is compiled on its own instead, named in
# the output so its owner can clean it up.
mkdir -p "$build"
no_unity=""        # libraries built file by file (a clash the script cannot pin on a file)
no_unity_files=""  # .cpp files compiled outside their unity batch
configure() {
  cmake -S "$repo" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="$opt" -DCMAKE_C_FLAGS="$opt" \
    -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only -DCMAKE_C_FLAGS_DEBUG=-gline-tables-only \
    -DMUTUO_SANITIZE=ON -DMUTUO_FUZZ=ON -DMUTUO_UNIT_TIMEOUT=300 \
    -DCMAKE_UNITY_BUILD=ON -DCMAKE_PROJECT_INCLUDE="$repo/tests/fuzz/unity.cmake" \
    -DMUTUO_NO_UNITY="${no_unity// /;}" -DMUTUO_NO_UNITY_FILES="${no_unity_files// /;}" \
    -DMUTUO_HARDENING_PROGRAMS="${programs// /;}" \
    > "$build/hardening-configure.log" 2>&1 || {
    cat "$build/hardening-configure.log" >&2
    exit 1
  }
}
# The programs the integration phase runs (scripts/test.sh empties the list
# when no integration phase follows its build phase).
programs=${MUTUO_HARDENING_PROGRAMS-mutuo-agent mutuo-tracker mutuo-receiver mutuo-dashboard}
stamp=$build/hardening-built.stamp
not_in() {  # the words of $1 that are not in the list $2
  tr ' ' '\n' <<< "$1" | sed '/^$/d' | grep -vxF -f <(tr ' ' '\n' <<< "$2" | sed '/^$/d'; echo ' ') || true
}
build_all() {
  rm -f "$stamp"
  local built=0 attempt clashed_objs clash_errors files libs
  for attempt in 1 2 3 4 5 6 7 8; do
    configure
    # -k: one pass finds every unity clash, and all else builds meanwhile.
    # hardening_targets (tests/fuzz/unity.cmake): the fuzzers, the unit tests,
    # the programs.
    if make -k -C "$build" -j"$jobs" hardening_targets \
        > "$build/hardening-build.log" 2>&1; then
      built=1
      break
    fi
    # Unity batches that failed to compile: the .cpp files their errors point
    # at (the second definition of a name) leave their batch; a library whose
    # errors point elsewhere is built file by file.
    clashed_objs=$(grep -oE 'CMakeFiles/[A-Za-z0-9_.+-]+\.dir/Unity/unity_[0-9]+_cxx\.cxx\.o\] Error' \
      "$build/hardening-build.log" | sort -u || true)
    clash_errors=$(grep -E "^/[^:]+:[0-9]+:[0-9]+: error: (redefinition|conflicting|.*ambiguous)" \
      "$build/hardening-build.log" || true)
    files=$(not_in "$(grep -oE '^/[^:]+\.(cpp|cc|cxx):[0-9]+:[0-9]+: error' <<< "$clash_errors" |
      cut -d: -f1 | sort -u)" "$no_unity_files")
    if [ -n "$clashed_objs" ] && [ -n "$files" ]; then
      echo "hardening: not unity-clean, compiled on their own:" $files
      no_unity_files="$no_unity_files $(echo $files)"
      { grep -E "^/[^:]+:[0-9]+:[0-9]+: error" "$build/hardening-build.log" || true; } |
        sort -u | head -5 | sed 's/^/  /'
      continue
    fi
    libs=$(not_in "$(sed -E 's|CMakeFiles/(.*)\.dir/Unity/.*|\1|' <<< "$clashed_objs" | sort -u)" "$no_unity")
    if [ -n "$libs" ] && [ -n "$clash_errors" ]; then
      echo "hardening: not unity-clean, built file by file:" $libs
      no_unity="$no_unity $(echo $libs)"
      continue
    fi
    break  # real compile errors
  done
  if [ $built = 0 ]; then
    { grep -E "error|Error" "$build/hardening-build.log" || true; } | head -40 >&2
    echo "hardening: build failed (full log: $build/hardening-build.log)" >&2
    echo failed > "$build/hardening-build.status"
    exit 1
  fi
  touch "$stamp"
  echo ok > "$build/hardening-build.status"
}
if wants build || [ ! -f "$stamp" ]; then
  rm -f "$build/hardening-build.status"
  build_all
  phase "built fuzzers, unit tests${programs:+ and programs} with ASan+UBSan ($opt)"
fi

# Sanitizer settings for everything below (tests/fuzz/sanitizer.env; the unit
# tests get them from ctest too).
while IFS='=' read -r name value; do
  export "$name=${value//\{repo\}/$repo}"
done < <(grep -E '^[A-Z_]+=' "$repo/tests/fuzz/sanitizer.env")

# 2. Fuzz each target for a bounded time, from its seeds plus what earlier
# local runs found (the work corpus persists in the build directory). One
# fuzzer per core at a time: libFuzzer runs on one thread. An input counts as
# hung after 60 s of wall-clock time: scripts/test.sh runs this pass beside
# ctest, where a fuzzer may wait seconds for a core.
fuzz_dir=$build/tests/fuzz
fuzz_one() {
  local t=$1 work=$fuzz_dir/work/$1 log=$fuzz_dir/fuzz_$1.log dict=()
  mkdir -p "$work"
  [ "$t" != echo_packet ] && [ "$t" != dashboard_request ] && dict=(-dict="$fuzz_dir/corpus/messages.dict")
  if "$fuzz_dir/fuzz_$t" -max_total_time="$fuzz_seconds" -max_len=65536 -timeout=60 \
      -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="$fuzz_dir/crashes/$t-" "$work" "$fuzz_dir/corpus/$t" > "$log" 2>&1; then
    echo ok > "$fuzz_dir/fuzz_$t.status"
  else
    echo failed > "$fuzz_dir/fuzz_$t.status"
  fi
}
if wants fuzz; then
  mkdir -p "$fuzz_dir/crashes"
  rm -f "$fuzz_dir"/fuzz_*.status
  running=0
  for t in "${fuzzers[@]}"; do
    if [ $running -ge "$jobs" ]; then
      wait -n || true
      running=$((running - 1))
    fi
    fuzz_one "$t" &
    running=$((running + 1))
  done
  wait || true
  for t in "${fuzzers[@]}"; do
    log=$fuzz_dir/fuzz_$t.log
    if [ "$(cat "$fuzz_dir/fuzz_$t.status" 2>/dev/null)" = ok ]; then
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
  phase "fuzzed ${#fuzzers[@]} targets for ${fuzz_seconds} s each, $jobs at a time"
fi

# 3. Unit tests under the sanitizers (reports go to the test's output; ctest
# sets their options, tests/unit/CMakeLists.txt). MUTUO_TEST_SCALE (percent of
# the generated loops, tests/unit/test_scale.h) shortens a local run.
if wants test; then
  if ! (cd "$build" && ctest -L unit --output-on-failure --timeout 300 -j"$jobs" \
        > "$build/hardening-unit.log" 2>&1); then
    grep -E "tests passed|Failed|\*\*\*" "$build/hardening-unit.log" >&2 || true
    echo "hardening: unit tests failed under ASan+UBSan (log: $build/hardening-unit.log)" >&2
    failures+=("unit tests")
  fi
  grep -E "tests passed" "$build/hardening-unit.log" || true
  phase "unit tests under ASan+UBSan+LSan"
fi

# 4. Integration tests with the real programs built with the sanitizers; they
# write any report to a file here, and one file fails the run.
if wants integration; then
  reports=$build/sanitizer-reports
  rm -rf "$reports"
  mkdir -p "$reports"
  # The sanitized programs run several times slower (-O0 in --ci) and beside
  # other work: the tests' waits stretch (tests/integration/harness.py).
  # detect_stack_use_after_return puts instrumented locals on a heap "fake
  # stack" (and finds pointers to a returned function's locals): CivetWeb
  # starts its workers with 100 KiB stacks, which -O0 ASan frames overflow.
  # The tools that drive the programs (bench/: load, simulated agents) are not
  # under test: they come from the main build (tests/integration/harness.py).
  if ! (cd "$build" && export MUTUO_TEST_TIMEOUT_FACTOR=${MUTUO_TEST_TIMEOUT_FACTOR:-4} &&
        export MUTUO_TOOLS_DIR=${MUTUO_TOOLS_DIR:-${MUTUO_BUILD_DIR:-$repo/build}} &&
        ASAN_OPTIONS="$ASAN_OPTIONS:detect_stack_use_after_return=1:log_path=$reports/asan" \
        UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$reports/ubsan" \
        ctest -R "$integration" --output-on-failure --timeout 300 -j"$jobs" > "$build/hardening-integration.log" 2>&1); then
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
fi

echo "hardening: total $(( $(date +%s) - t0 )) s"
if [ ${#failures[@]} -gt 0 ]; then
  echo "hardening: FAILED: ${failures[*]}" >&2
  exit 1
fi
echo "hardening: all passed"
