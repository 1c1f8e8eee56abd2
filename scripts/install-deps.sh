#!/usr/bin/env bash
# Installs the Debian 12 packages mutuo needs, only those missing. Safe to run
# twice. Usage: scripts/install-deps.sh [run|test]   (test adds browser-test needs)
set -euo pipefail

pkgs=(build-essential cmake pkg-config python3 ca-certificates
      mosquitto mosquitto-clients
      libpaho-mqttpp-dev libpaho-mqtt-dev libssl-dev
      nlohmann-json3-dev librocksdb-dev libcivetweb-dev civetweb
      libcli11-dev libspdlog-dev doctest-dev libvalijson-dev
      libcurl4-openssl-dev libc-ares-dev dnsmasq-base prometheus-blackbox-exporter  # agent probes, tests, bench
      libmosquitto-dev  # bench/sim: thousands of simulated agents on one epoll loop
      lld)  # links 5-7x faster than ld.bfd (CMakeLists.txt, MUTUO_LLD)
if [ "${1:-run}" = test ]; then
  pkgs+=(chromium clang libclang-rt-14-dev)  # clang: scripts/hardening.sh (fuzzers, sanitizers)
  pkgs+=(faketime)  # tests/integration/test_drill_clock_jump.py: libfaketime moves an agent's clock
  pkgs+=(wrk nginx)  # bench/dashboard_bench.py: load generator and the static-file baseline
  pkgs+=(prometheus python3-jsonschema systemd libcap2-bin adduser)  # ops tests: promtool, schemas, packages
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
# Debian's mosquitto package may start a system broker on 1883; mutuo starts its
# own with its own config and ports, so it does not need that one.
