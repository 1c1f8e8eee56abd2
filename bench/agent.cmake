# The agent's benchmark and test tools (docs/agent.md, "Benchmark").
add_executable(mutuo-agent-store-series agent_store_series.cpp)
target_link_libraries(mutuo-agent-store-series PRIVATE mutuo_common CLI11::CLI11)
