# Cross-compiling for 64-bit ARM (arm64: Raspberry Pi 3/4/5 with a 64-bit OS,
# most ARM servers and boards) with Debian's cross compiler and multiarch
# libraries, which live beside the build machine's in /usr/lib/aarch64-linux-gnu:
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install crossbuild-essential-arm64 qemu-user-static libpaho-mqttpp-dev:arm64 ...
# scripts/cross-build-agent.sh installs what is missing and uses this file
# (docs/agent.md, "Raspberry Pi and other ARM boxes").
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(MUTUO_CROSS_TRIPLET aarch64-linux-gnu)
set(MUTUO_CROSS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-debian-multiarch.cmake)
