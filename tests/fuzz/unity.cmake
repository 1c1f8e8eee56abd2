# Included by scripts/hardening.sh through CMAKE_PROJECT_INCLUDE, for its
# sanitizer and fuzzing build only (the main build never sees it). Everything
# here runs once every target is defined (cmake_language(DEFER)), so no part's
# CMakeLists.txt knows about it.
#
# 1. Unity build (CMAKE_UNITY_BUILD, set by the script). A .cpp file that is
#    not unity-clean (say, it defines the same constant in an anonymous
#    namespace as another file of its library) breaks its unity batch; the
#    script then names the file in MUTUO_NO_UNITY_FILES and configures again,
#    and this file compiles that one file on its own (the rest of its library
#    stays batched). MUTUO_NO_UNITY (targets) builds whole libraries file by file.
# 2. libFuzzer coverage (-fsanitize=fuzzer-no-link) only where the fuzzers
#    look: the libraries the fuzz targets exercise (MUTUO_FUZZ_COVERAGE), not
#    the unit tests and the libraries only they use. Coverage costs compile time.
#    The message decoders (mutuo_common_core) and the fuzz targets are also
#    compiled at -O1 (MUTUO_FUZZ_OPTIMIZE) while the rest is -O0: at -O0 the
#    results fuzzer ran 2.3 times fewer inputs and the status one 3 times
#    fewer. mutuo_dashboard_core stays -O0: at -O1 it took 296 s of
#    CPU to compile under the sanitizers (about 130 s at -O0), an eighth of
#    a whole CI run, for 4 times the dashboard fuzzer's inputs (860 against
#    202 a second).
# 3. One precompiled header (doctest, nlohmann/json, spdlog, the standard
#    library) shared by the unit-test executables (MUTUO_UNIT_PCH=ON; one per
#    part, each one unity batch: tests/unit/CMakeLists.txt).
# 4. hardening_targets: one make goal for everything the pass builds (the
#    fuzzers, every unit test, and the
#    programs in MUTUO_HARDENING_PROGRAMS), so `make -k` tries a failing object
#    once, not once per goal.
set(MUTUO_FUZZ_COVERAGE "mutuo_common_core;mutuo_agent_core;mutuo_dashboard_core;mutuo_fuzz_targets"
  CACHE STRING "libraries compiled with libFuzzer coverage (hardening build)")
set(MUTUO_FUZZ_OPTIMIZE "mutuo_common_core;mutuo_fuzz_targets"
  CACHE STRING "targets compiled at -O1 whatever CMAKE_CXX_FLAGS say (hardening build)")
option(MUTUO_UNIT_PCH "unit tests share one precompiled header (hardening build)" ON)

function(mutuo_hardening_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    mutuo_hardening_targets(${sub} more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

function(mutuo_hardening_setup)
  mutuo_hardening_targets(${CMAKE_SOURCE_DIR} all_targets)
  foreach(t ${MUTUO_NO_UNITY})
    if(TARGET ${t})
      set_target_properties(${t} PROPERTIES UNITY_BUILD OFF)
      message(STATUS "hardening: ${t} built without unity batches")
    endif()
  endforeach()
  if(MUTUO_NO_UNITY_FILES)
    foreach(t ${all_targets})
      get_target_property(type ${t} TYPE)
      if(type STREQUAL "INTERFACE_LIBRARY" OR type STREQUAL "UTILITY")
        continue()
      endif()
      get_target_property(sources ${t} SOURCES)
      get_target_property(source_dir ${t} SOURCE_DIR)
      foreach(s ${sources})
        cmake_path(ABSOLUTE_PATH s BASE_DIRECTORY ${source_dir} NORMALIZE OUTPUT_VARIABLE abs)
        if(abs IN_LIST MUTUO_NO_UNITY_FILES)
          set_source_files_properties(${s} TARGET_DIRECTORY ${t}
            PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
          message(STATUS "hardening: ${abs} (${t}) compiled outside unity batches")
        endif()
      endforeach()
    endforeach()
  endif()
  # A unity batch is one archive member: a test that needs one file of it
  # links them all, so mutuo_health's metrics code pulls in common/metrics.cpp
  # and with it CivetWeb, which the main build links only where it serves /metrics.
  if(TARGET mutuo_common AND TARGET civetweb::civetweb)
    target_link_libraries(mutuo_common INTERFACE civetweb::civetweb)
  endif()
  foreach(t ${MUTUO_FUZZ_COVERAGE})
    if(TARGET ${t})
      target_compile_options(${t} PRIVATE -fsanitize=fuzzer-no-link)
    endif()
  endforeach()
  foreach(t ${MUTUO_FUZZ_OPTIMIZE})
    if(TARGET ${t})
      target_compile_options(${t} PRIVATE -O1)
    endif()
  endforeach()
  add_custom_target(hardening_targets)
  if(TARGET fuzzers)
    add_dependencies(hardening_targets fuzzers)
  endif()
  foreach(t ${MUTUO_HARDENING_PROGRAMS})
    add_dependencies(hardening_targets ${t})
  endforeach()
  if(MUTUO_UNIT_PCH AND TARGET mutuo_doctest_main AND TARGET mutuo_common)
    # Built with exactly what every unit test gets from mutuo_unit_test() in
    # tests/unit/CMakeLists.txt; a test's own extra definitions come after.
    file(WRITE ${CMAKE_BINARY_DIR}/hardening/unit_pch.cpp "// precompiled header only\n")
    add_library(mutuo_unit_pch STATIC ${CMAKE_BINARY_DIR}/hardening/unit_pch.cpp)
    set_target_properties(mutuo_unit_pch PROPERTIES UNITY_BUILD OFF)
    target_link_libraries(mutuo_unit_pch PRIVATE doctest::doctest mutuo_common)
    target_compile_definitions(mutuo_unit_pch PRIVATE MUTUO_SCHEMA_DIR="${PROJECT_SOURCE_DIR}/schemas")
    target_precompile_headers(mutuo_unit_pch PRIVATE
      <doctest/doctest.h> <nlohmann/json.hpp> <spdlog/spdlog.h>
      <algorithm> <atomic> <chrono> <cstdint> <cstring> <filesystem> <fstream> <functional>
      <map> <memory> <mutex> <optional> <set> <sstream> <string> <string_view> <thread>
      <unordered_map> <vector>)
    get_property(unit_targets DIRECTORY ${PROJECT_SOURCE_DIR}/tests/unit PROPERTY BUILDSYSTEM_TARGETS)
    foreach(t ${unit_targets})
      get_target_property(type ${t} TYPE)
      get_target_property(libs ${t} LINK_LIBRARIES)
      # (not with -O1: the header was precompiled at -O0, and clang refuses a mismatch)
      if(type STREQUAL "EXECUTABLE" AND "mutuo_doctest_main" IN_LIST libs
         AND NOT t IN_LIST MUTUO_FUZZ_OPTIMIZE)
        target_precompile_headers(${t} REUSE_FROM mutuo_unit_pch)
      endif()
    endforeach()
  endif()
  get_property(unit_targets DIRECTORY ${PROJECT_SOURCE_DIR}/tests/unit PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${unit_targets})
    get_target_property(type ${t} TYPE)
    get_target_property(libs ${t} LINK_LIBRARIES)
    if(type STREQUAL "EXECUTABLE" AND "mutuo_doctest_main" IN_LIST libs)
      add_dependencies(hardening_targets ${t})
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL mutuo_hardening_setup)
