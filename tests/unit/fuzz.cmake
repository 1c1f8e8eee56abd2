# Fuzz target bodies (tests/fuzz/targets), built with every compiler: the
# regression test below replays the schemas' examples, the committed seeds and
# every input in tests/fuzz/regressions through them. The libFuzzer drivers
# themselves are in tests/fuzz/CMakeLists.txt (clang, -DMUTUO_FUZZ=ON).
# Not in a tree whose unit tests come from elsewhere (MUTUO_UNIT_TESTS_FROM).
if(NOT MUTUO_UNIT_TESTS_FROM OR MUTUO_FUZZ)
  add_library(mutuo_fuzz_targets STATIC
    ${PROJECT_SOURCE_DIR}/tests/fuzz/targets/all_targets.cpp
    ${PROJECT_SOURCE_DIR}/tests/fuzz/targets/messages.cpp
    ${PROJECT_SOURCE_DIR}/tests/fuzz/targets/echo_packet.cpp
    ${PROJECT_SOURCE_DIR}/tests/fuzz/targets/dashboard_request.cpp)
  target_link_libraries(mutuo_fuzz_targets PUBLIC mutuo_common mutuo_agent_core mutuo_dashboard_core)
endif()

mutuo_unit_test(fuzz_regressions_test LABELS "fuzz" LIBS mutuo_fuzz_targets
  DEFINES MUTUO_FUZZ_DIR="${PROJECT_SOURCE_DIR}/tests/fuzz")
