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
ctest --output-on-failure --timeout 600 -j3 "$@"
[ $# -gt 0 ] || [ "${MUTUO_HARDENING:-1}" = 0 ] || "$repo/scripts/hardening.sh"  # docs/hardening.md
