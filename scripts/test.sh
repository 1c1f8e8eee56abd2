#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test (unit, integration,
# browser) with ctest. Safe to run twice. Extra arguments go to ctest, e.g.
#   scripts/test.sh -L security
#
# Two build trees (docs/hardening.md):
#   build/       gcc -O1: the programs, which the integration and browser tests run
#                (scripts/build.sh, the same build as scripts/demo.sh);
#   build-asan/  clang with ASan+UBSan+LSan: the unit tests and the libFuzzer
#                targets (scripts/hardening.sh --ci).
# build/'s ctest runs all of them: its unit tests are build-asan/'s binaries
# (MUTUO_UNIT_TESTS_FROM, tests/unit/CMakeLists.txt), so `ctest -L security` in
# build/ runs every security test. Each source file is compiled once per tree.
# The sanitizer build starts first, at the lowest priority, and uses the time
# the integration tests spend waiting on timers: ctest runs the integration
# and browser tests first, then the unit tests once build-asan/ is built.
#
# MUTUO_HARDENING=ci (the default): when no ctest arguments are given, the
# fuzzers run too, 10 s each, and six integration tests once more with the
# programs built with the sanitizers (scripts/hardening.sh). MUTUO_HARDENING=0:
# neither. MUTUO_HARDENING=1: also the long pass afterwards
# (scripts/hardening.sh, -O1, a tree of its own).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/install-deps.sh" test
build=${MUTUO_BUILD_DIR:-$repo/build}
asan=${MUTUO_HARDENING_BUILD:-$repo/build-asan}
hardening=${MUTUO_HARDENING:-ci}
pass_pid=""
pass_log=$asan.log
start_pass() {  # the sanitizer tree's build, then phases $1 (if any), in the background
  echo "test: building the sanitizer tree in the background${1:+, then $1} (log: $pass_log)"
  mkdir -p "$asan"
  rm -f "$asan/hardening-build.status"
  local after=$1 no_programs=()
  # Without the integration phase the sanitized programs are not needed.
  [[ ",$after," == *,integration,* ]] || no_programs=(MUTUO_HARDENING_PROGRAMS=)
  # set -m: the pass gets a process group of its own (so the EXIT trap stops
  # all of it) but stays in this session (see below).
  set -m
  {
    nice -n 19 env "${no_programs[@]}" "$repo/scripts/hardening.sh" --ci --phase build &&
      { [ -z "$after" ] || "$repo/scripts/hardening.sh" --ci --phase "$after"; }
  } > "$pass_log" 2>&1 < /dev/null &
  pass_pid=$!
  set +m
  trap '[ -z "$pass_pid" ] || kill -- -"$pass_pid" 2> /dev/null || true' EXIT
}
# A whole run starts it first, at the lowest priority: the main build, which
# the integration tests wait for, takes the cores first, and the sanitizer
# build gets what the integration tests leave while they wait on timers. The
# fuzzers, which run for a fixed time, and the integration tests with the
# sanitized programs run at normal priority once it is built.
# The pass stays in this session on purpose: with the kernel's autogroup
# scheduling each session gets an equal share of the CPU whatever the nice
# values inside it, so a pass started with setsid took half the cores from the
# main build (docs/hardening.md, "CI time").
if [ $# -eq 0 ]; then
  if [ "$hardening" = 0 ]; then start_pass ""; else start_pass fuzz,integration; fi
fi
"$repo/scripts/build.sh"
unit_count=$(cd "$build" && ctest -N -L '^unit$' "$@" | sed -n 's/^Total Tests: //p')
if [ -z "$pass_pid" ] && [ "${unit_count:-0}" -gt 0 ]; then
  start_pass ""
fi
if command -v npm > /dev/null 2>&1; then
  (cd "$repo/tests/browser" && npm ci --no-audit --no-fund --loglevel=error > /dev/null)
else
  echo "test: npm not found: browser tests will be skipped (they need Node.js >= 18 with npm)"
fi
cd "$build"
status=0
# 1. Integration and browser tests, four at a time: most wait on timers; the
# heavy ones are marked RUN_SERIAL (tests/integration/CMakeLists.txt).
ctest --output-on-failure --timeout 600 -j4 -LE '^unit$' "$@" || status=1
# 2. The unit tests, once the sanitizer tree is built (bounded: an hour).
if [ "${unit_count:-0}" -gt 0 ]; then
  echo "test: waiting for the sanitizer build (build-asan/) to run the unit tests"
  for _ in $(seq 3600); do
    [ -f "$asan/hardening-build.status" ] || ! kill -0 "$pass_pid" 2> /dev/null && break
    sleep 1
  done
  if [ "$(cat "$asan/hardening-build.status" 2> /dev/null)" = ok ]; then
    # The generated loops at a quarter (tests/unit/test_scale.h): at -O0 under
    # the sanitizers the full loops took 204 s of CPU instead of 132 s, and
    # the fuzzers cover the same decoders.
    MUTUO_TEST_SCALE=${MUTUO_TEST_SCALE:-25} \
      ctest --output-on-failure --timeout 600 -j2 -L '^unit$' "$@" || status=1
  else
    cat "$pass_log" >&2
    echo "test: FAILED: the sanitizer build did not finish; unit tests not run" >&2
    status=1
  fi
fi
# 3. The fuzzers' and the sanitized integration tests' outcome (they run after
# the sanitizer build, beside the unit tests).
if [ -n "$pass_pid" ]; then
  if wait "$pass_pid"; then
    cat "$pass_log"
  else
    cat "$pass_log" >&2
    status=1
  fi
  pass_pid=""
fi
[ "$hardening" = 1 ] && { "$repo/scripts/hardening.sh" || status=1; }
[ $status = 0 ] && echo "test: all passed" || echo "test: FAILED (see above)" >&2
exit $status
