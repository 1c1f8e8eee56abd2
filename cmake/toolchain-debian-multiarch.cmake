# Shared by cmake/toolchain-<arch>.cmake, which set CMAKE_SYSTEM_PROCESSOR,
# MUTUO_CROSS_TRIPLET (the Debian multiarch triplet) and MUTUO_CROSS_QEMU.
#
# Debian multiarch: the target's libraries, pkg-config files and CMake package
# files sit in /usr/lib/<triplet>, its arch-specific headers in
# /usr/include/<triplet>, next to the build machine's own. The cross compiler
# searches those include directories itself; CMake is told to look for
# libraries and packages only under the target's triplet, never the build
# machine's, and pkg-config only in the target's directory.
set(CMAKE_C_COMPILER ${MUTUO_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${MUTUO_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${MUTUO_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH /usr/${MUTUO_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # build tools run on the build machine
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
list(APPEND CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu)  # never the build machine's libraries
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${MUTUO_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
# ctest and custom commands run target programs through qemu-user; -L tells it
# where the target's dynamic loader is (Debian's libc6:<arch> puts it in /lib).
set(CMAKE_CROSSCOMPILING_EMULATOR ${MUTUO_CROSS_QEMU} -L /)
