# The receiver's tools and benchmarks (docs/receiver.md, "Benchmark").
add_executable(mutuo-receiver-load receiver_load.cpp)
target_link_libraries(mutuo-receiver-load PRIVATE mutuo_common)
add_executable(mutuo-receiver-store-check receiver_store_check.cpp)
target_link_libraries(mutuo-receiver-store-check PRIVATE mutuo_receiver_core)
if(MUTUO_BENCHMARKS)
  add_executable(mutuo-receiver-query-bench receiver_query_bench.cpp)
  target_link_libraries(mutuo-receiver-query-bench PRIVATE mutuo_receiver_core)
endif()
