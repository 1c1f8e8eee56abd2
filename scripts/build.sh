#!/usr/bin/env bash
# Configures and builds everything into build/ (incremental; safe to run twice).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MUTUO_BUILD_DIR:-$repo/build}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
fi
echo "build: compiling into $build (the first build takes a few minutes)"
mkdir -p "$build"
if ! cmake --build "$build" -j "$(nproc)" > "$build/build.log" 2>&1; then
  grep -E -B2 -A6 "error|Error" "$build/build.log" | head -60 >&2
  echo "build: FAILED (full log: $build/build.log)" >&2
  exit 1
fi
echo "build: done"
