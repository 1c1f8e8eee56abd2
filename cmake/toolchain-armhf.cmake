# Cross-compiling for 32-bit ARM with hardware floating point (armhf: Raspberry
# Pi 2/3/4 with a 32-bit OS, ARMv7 boards) with Debian's cross compiler and
# multiarch libraries in /usr/lib/arm-linux-gnueabihf. Debian's armhf is
# ARMv7: a Raspberry Pi 1 or Zero (ARMv6) cannot run it.
#   dpkg --add-architecture armhf && apt-get update
#   apt-get install crossbuild-essential-armhf qemu-user-static libpaho-mqttpp-dev:armhf ...
# scripts/cross-build-agent.sh --arch armhf installs what is missing and uses it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(MUTUO_CROSS_TRIPLET arm-linux-gnueabihf)
set(MUTUO_CROSS_QEMU qemu-arm-static)
# GCC notes on every std::map of json that its ARM calling convention changed
# in GCC 7.1: true, irrelevant here (everything is built with GCC 12).
set(CMAKE_CXX_FLAGS_INIT -Wno-psabi)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-debian-multiarch.cmake)
