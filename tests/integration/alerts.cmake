# Every health scenario of issue 8 in one system run (six agents, real path cuts,
# timed fault-to-verdict measurements): runs alone, so the verdict times it
# prints are not stretched by other tests' load.
mutuo_integration_test(test_alerts_fault_attribution LABELS "alerts;receiver;agent" TIMEOUT 180)
set_tests_properties(integration.test_alerts_fault_attribution PROPERTIES RUN_SERIAL TRUE)
# Second opinions (docs/health.md): two systems side by side (with and without),
# a target with two regular observers and 10 s rounds cut twice; prints the
# fault-to-verdict times.
mutuo_integration_test(test_alerts_second_opinions LABELS "alerts;tracker;agent" TIMEOUT 150)
set_tests_properties(integration.test_alerts_second_opinions PROPERTIES RUN_SERIAL TRUE)
mutuo_integration_test(test_alerts_second_opinion_rights LABELS "security;alerts;tracker" TIMEOUT 60)
