# Every health scenario of issue 8 in one system run (six agents, real path cuts,
# timed fault-to-verdict measurements): runs alone, so the verdict times it
# prints are not stretched by other tests' load.
mutuo_integration_test(test_alerts_fault_attribution LABELS "alerts;receiver;agent" TIMEOUT 180)
set_tests_properties(integration.test_alerts_fault_attribution PROPERTIES RUN_SERIAL TRUE)
