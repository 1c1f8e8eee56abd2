# Operations (issue 10, docs/operating.md): packages, metrics, consumers.
# test_packages installs, upgrades and purges the Debian packages on this
# machine with dpkg: root only (else skipped, exit 77), never alongside others.
mutuo_integration_test(test_packages LABELS "ops;agent;tracker;receiver;dashboard" TIMEOUT 600)
set_tests_properties(integration.test_packages PROPERTIES RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
# The mosquitto_sub consumer and the Telegraf mapping in docs/operating.md, on
# real results, validated against schemas/.
mutuo_integration_test(test_consumer_docs LABELS "ops;agent;receiver" TIMEOUT 120)
set_tests_properties(integration.test_consumer_docs PROPERTIES SKIP_RETURN_CODE 77)
