#!/usr/bin/env bash
# Configures and builds everything into build/ (incremental; safe to run twice).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MUTUO_BUILD_DIR:-$repo/build}
# The development build (the demo, the tests): -O1 -g1. Compiling is most of
# a clean test run, and -O1 compiles the dashboard's largest batch in two
# thirds of the -O2 time. Packages and benchmarks are built -O2 on their own
# (docs/operating.md, "Packages"; bench/README.md). gcc's maybe-uninitialized
# analysis reports false positives at -O1 (values inside std::optional): they
# stay warnings here; the -O2 builds still fail on them.
# -g1: line tables and function names, enough for backtraces; full -g costs
# about a quarter more compile time (nlohmann/json, CLI11 and fmt templates).
# A unity build compiles each library's files in batches, so those templates
# are instantiated once per batch instead of once per file.
# The unit tests are not compiled here: they are built once, with ASan+UBSan,
# in scripts/hardening.sh's tree (build-asan/, which scripts/test.sh builds),
# and this tree's ctest runs those binaries under their labels
# (MUTUO_UNIT_TESTS_FROM, tests/unit/CMakeLists.txt).
asan=${MUTUO_HARDENING_BUILD:-$repo/build-asan}
configure=(-DMUTUO_UNIT_TESTS_FROM="$asan")
if [ ! -f "$build/CMakeCache.txt" ]; then
  configure+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=ON -DMUTUO_BENCHMARKS=OFF
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG -Wno-error=maybe-uninitialized"
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG -Wno-error=maybe-uninitialized")
fi
cmake -S "$repo" -B "$build" "${configure[@]}" > /dev/null
echo "build: compiling into $build (the first build takes a few minutes)"
mkdir -p "$build"
if ! cmake --build "$build" -j "$(nproc)" > "$build/build.log" 2>&1; then
  grep -E -B2 -A6 "error|Error" "$build/build.log" | head -60 >&2
  echo "build: FAILED (full log: $build/build.log)" >&2
  exit 1
fi
echo "build: done"
