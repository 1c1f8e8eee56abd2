#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test (unit, integration,
# browser) with ctest. Safe to run twice. Extra arguments go to ctest, e.g.
#   scripts/test.sh -L security
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/install-deps.sh" test
"$repo/scripts/build.sh"
build=${MUTUO_BUILD_DIR:-$repo/build}
if command -v npm > /dev/null 2>&1; then
  (cd "$repo/tests/browser" && npm ci --no-audit --no-fund --loglevel=error > /dev/null)
else
  echo "test: npm not found: browser tests will be skipped (they need Node.js >= 18 with npm)"
fi
cd "$build"
# Three at a time: most integration tests wait on timers; the heavy ones are
# marked RUN_SERIAL (tests/integration/CMakeLists.txt).
status=0
ctest --output-on-failure --timeout 600 -j3 "$@" || status=$?
# Then, when asked and no ctest arguments were given, the sanitizer and fuzzing
# pass (docs/hardening.md): MUTUO_HARDENING=ci the CI-sized one (a clang unity
# build of the unit tests and fuzzers, 10 s per fuzzer, the unit tests under
# ASan+UBSan), MUTUO_HARDENING=1 the long one (programs and integration tests
# under the sanitizers too). Its build costs about 1000 CPU-seconds, 8 to 10
# minutes on 2 cores, over what CI's 20 minutes leave, so it is not on by
# default yet. A failure in either fails this script.
if [ $# -eq 0 ]; then
  case "${MUTUO_HARDENING:-0}" in
    0) ;;
    ci) "$repo/scripts/hardening.sh" --ci || status=1 ;;
    *) "$repo/scripts/hardening.sh" || status=1 ;;
  esac
fi
exit $status
