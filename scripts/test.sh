#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test (unit, integration,
# browser) with ctest. Safe to run twice. Extra arguments go to ctest, e.g.
#   scripts/test.sh -L security
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/install-deps.sh" test
"$repo/scripts/build.sh"
build=${MUTUO_BUILD_DIR:-$repo/build}
# The sanitizer and fuzzing pass (docs/hardening.md), unless ctest arguments
# were given: MUTUO_HARDENING=ci (the default) the CI-sized one (a clang unity
# build of the unit tests and fuzzers, 10 s per fuzzer, the unit tests under
# ASan+UBSan), MUTUO_HARDENING=1 the long one (programs and integration tests
# under the sanitizers too), MUTUO_HARDENING=0 none. The CI-sized pass runs
# whole (build, fuzzers, unit tests) at the lowest CPU priority beside ctest:
# the integration tests mostly wait on timers (ctest used about a third of the
# two cores' time) and take the CPU back whenever they need it.
hardening=${MUTUO_HARDENING:-ci}
[ $# -eq 0 ] || hardening=0
hardening_pid=""
if [ "$hardening" = ci ]; then
  hardening_log=$build/hardening-background.log
  echo "test: running the sanitizer/fuzzing pass in the background (log: $hardening_log)"
  setsid -w nice -n 19 "$repo/scripts/hardening.sh" --ci > "$hardening_log" 2>&1 &
  hardening_pid=$!
  trap '[ -z "$hardening_pid" ] || kill -- -"$hardening_pid" 2> /dev/null || true' EXIT
fi
if command -v npm > /dev/null 2>&1; then
  (cd "$repo/tests/browser" && npm ci --no-audit --no-fund --loglevel=error > /dev/null)
else
  echo "test: npm not found: browser tests will be skipped (they need Node.js >= 18 with npm)"
fi
cd "$build"
# Four at a time: most integration tests wait on timers; the heavy ones are
# marked RUN_SERIAL (tests/integration/CMakeLists.txt).
status=0
ctest --output-on-failure --timeout 600 -j4 "$@" || status=$?
# Then the sanitizer and fuzzing pass's outcome (it may still be running). A
# failure in either fails this script.
case "$hardening" in
  0) ;;
  ci)
    echo "test: waiting for the sanitizer/fuzzing pass"
    if wait "$hardening_pid"; then
      hardening_pid=""
      cat "$hardening_log"
    else
      hardening_pid=""
      cat "$hardening_log" >&2
      status=1
    fi
    ;;
  *) "$repo/scripts/hardening.sh" || status=1 ;;
esac
exit $status
