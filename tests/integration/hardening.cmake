# Hostile input over the real bus (docs/hardening.md). scripts/hardening.sh
# also runs it with every program built with ASan+UBSan.
mutuo_integration_test(test_hostile_agent_input LABELS "security;receiver;tracker;dashboard" TIMEOUT 240)
mutuo_integration_test(test_hostile_http LABELS "security;dashboard" TIMEOUT 240)

# Fault drills (docs/hardening.md, "Fault drills"): each asserts what a user
# would check and prints a "DRILL <name>:" line with its measured outcome.
# Each kills or starves only the processes it started, and the broker-restart
# and disk-full drills assert counts, not timings, so they run beside other
# tests; the clock jump asserts the agent's round timing and runs alone.
mutuo_integration_test(test_drill_broker_restart LABELS "drill;receiver" TIMEOUT 150)
mutuo_integration_test(test_drill_receiver_disk_full LABELS "drill;receiver" TIMEOUT 150)
mutuo_integration_test(test_drill_clock_jump LABELS "drill;agent;receiver" TIMEOUT 150)
set_tests_properties(integration.test_drill_clock_jump PROPERTIES RUN_SERIAL TRUE)
# Exit 77: not root (no tmpfs to fill) or no libfaketime; the test says why.
set_tests_properties(integration.test_drill_receiver_disk_full integration.test_drill_clock_jump
  PROPERTIES SKIP_RETURN_CODE 77)

# Two drills live with their parts: a receiver SIGKILLed during load
# (test_receiver_survives_kills) and a tracker SIGKILLed with a standby
# (test_tracker_standby, which prints the takeover time). `ctest -L drill` runs
# all five; the label is added once every part file is read.
function(mutuo_label_drill test)
  if(TEST ${test})
    set_property(TEST ${test} APPEND PROPERTY LABELS drill)
  endif()
endfunction()
cmake_language(DEFER CALL mutuo_label_drill integration.test_receiver_survives_kills)
cmake_language(DEFER CALL mutuo_label_drill integration.test_tracker_standby)
