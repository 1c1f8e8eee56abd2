# The agent's benchmark and test tools (docs/agent.md, "Benchmark").
add_executable(mutuo-agent-store-series agent_store_series.cpp)
target_link_libraries(mutuo-agent-store-series PRIVATE mutuo_common)
# One agent (100 UDP echo + 100 TCP targets a second) against
# prometheus-blackbox-exporter (the same 100 TCP targets): RSS and CPU per probe.
add_custom_target(agent-bench
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/agent_footprint.py --bin-dir ${PROJECT_BINARY_DIR}
  DEPENDS mutuo-agent mutuo-receiver
  USES_TERMINAL)
