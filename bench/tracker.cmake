# The tracker at scale: the load simulator (bench/sim) and its benchmark driver
# (bench/tracker_bench.py). libmosquitto runs thousands of clients on one epoll loop.
find_path(MOSQUITTO_INCLUDE_DIR mosquitto.h)
find_library(MOSQUITTO_LIBRARY mosquitto)
if(MOSQUITTO_INCLUDE_DIR AND MOSQUITTO_LIBRARY)
  add_executable(mutuo-sim sim/main.cpp sim/simulator.cpp)
  target_include_directories(mutuo-sim PRIVATE ${MOSQUITTO_INCLUDE_DIR})
  target_link_libraries(mutuo-sim PRIVATE mutuo_common ${MOSQUITTO_LIBRARY} Threads::Threads)
else()
  message(WARNING "libmosquitto-dev not found: mutuo-sim (bench/sim) is not built")
endif()
