#!/usr/bin/env bash
# Cross-builds mutuo-agent for ARM with Debian's cross toolchain and multiarch
# packages, runs its unit tests and a short real run under qemu-user, and
# reports the stripped binary's size and the resident memory under qemu
# (docs/agent.md, "Raspberry Pi and other ARM boxes"). Not part of CI (it takes
# tens of minutes on two cores); run it by hand on a Debian 12 machine.
#
# Usage: scripts/cross-build-agent.sh [--arch arm64|armhf] [--install] [--jobs N]
#                                     [--skip-tests] [--skip-run] [--seconds S]
#   --install   (as root) dpkg --add-architecture and apt-get install what is missing
#   build dir:  build-<arch>/ at the top of the tree (build-arm64, build-armhf)
set -euo pipefail

arch=arm64
install=0
jobs=1
run_tests=1
run_agent=1
seconds=20
while [ $# -gt 0 ]; do
  case $1 in
    --arch) arch=${2:?}; shift 2 ;;
    --install) install=1; shift ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    --skip-tests) run_tests=0; shift ;;
    --skip-run) run_agent=0; shift ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cross-build-agent: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

case $arch in
  arm64) triplet=aarch64-linux-gnu; toolchain=toolchain-aarch64.cmake; qemu=qemu-aarch64-static ;;
  armhf) triplet=arm-linux-gnueabihf; toolchain=toolchain-armhf.cmake; qemu=qemu-arm-static ;;
  *) echo "cross-build-agent: --arch must be arm64 or armhf" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-$arch
say() { echo "cross-build-agent: $*"; }

# What the agent needs, for the target (:$arch, Multi-Arch: same, installable
# beside the build machine's own) and for the build machine. Not RocksDB:
# librocksdb-dev is not Multi-Arch (its :arm64 package would replace the
# build machine's), and the agent does not need it (mutuo_common_core).
target_pkgs=(libpaho-mqttpp-dev libpaho-mqtt-dev libssl-dev libspdlog-dev libfmt-dev
             libc-ares-dev libcurl4-openssl-dev)
host_pkgs=(crossbuild-essential-$arch qemu-user-static cmake pkg-config
           nlohmann-json3-dev libcli11-dev doctest-dev mosquitto mosquitto-clients dnsmasq-base
           python3 openssl)
wanted=("${host_pkgs[@]}")
for p in "${target_pkgs[@]}"; do wanted+=("$p:$arch"); done
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ $install = 0 ] || [ "$(id -u)" != 0 ]; then
    say "missing packages: ${missing[*]}"
    say "run as root with --install, or: dpkg --add-architecture $arch && apt-get update && apt-get install ${missing[*]}"
    exit 1
  fi
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    say "dpkg --add-architecture $arch"
    dpkg --add-architecture "$arch"
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi

say "configuring $build (agent/standalone, cmake/$toolchain)"
mkdir -p "$build"
cmake -S "$root/agent/standalone" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_TOOLCHAIN_FILE="$root/cmake/$toolchain" > "$build/cross-configure.log" 2>&1 \
  || { cat "$build/cross-configure.log"; exit 1; }
tests=(echo_packet_test delivery_batch_store_test delivery_outbox_test agent_scheduler_test
       agent_probes_test messages_test)
targets=(mutuo-agent)
[ $run_tests = 1 ] && targets+=("${tests[@]}")
say "building ${targets[*]} with -j$jobs"
start=$(date +%s)
make -C "$build" -j"$jobs" "${targets[@]}" > "$build/cross-make.log" 2>&1 \
  || { tail -40 "$build/cross-make.log"; exit 1; }
say "built in $(( $(date +%s) - start )) s"

bin=$build/agent/mutuo-agent
command -v file > /dev/null && file "$bin" | sed "s/^/  /"
"$triplet-strip" -o "$build/mutuo-agent.stripped" "$bin"
size_unstripped=$(stat -c %s "$bin")
size_stripped=$(stat -c %s "$build/mutuo-agent.stripped")
needed=$("$triplet-readelf" -d "$bin" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | tr '\n' ' ')

say "under qemu: --version and --help"
"$qemu" -L / "$bin" --version
"$qemu" -L / "$bin" --help > "$build/help.txt"
grep -q -- "--broker" "$build/help.txt"
say "--help lists $(grep -c -- ' --' "$build/help.txt") options"

if [ $run_tests = 1 ]; then
  say "unit tests under qemu (ctest runs them through $qemu)"
  start=$(date +%s)
  (cd "$build" && ctest --output-on-failure -j1)
  say "unit tests took $(( $(date +%s) - start )) s"
fi

if [ $run_agent = 1 ]; then
  say "a real run under qemu against a local broker, $seconds s"
  python3 "$root/bench/agent_qemu_run.py" --bin-dir "$build" --qemu "$qemu" --triplet "$triplet" \
          --seconds "$seconds"
fi

echo
echo "mutuo-agent for $arch ($triplet)"
echo "| | |"
echo "|---|---|"
echo "| binary (with debug info) | $(( size_unstripped / 1024 )) kB |"
echo "| stripped | $(( size_stripped / 1024 )) kB ($build/mutuo-agent.stripped) |"
echo "| shared libraries needed | $needed|"
echo "| libcurl | loaded at run time when an http check runs (libcurl4:$arch) |"
