# Operations (issue 10, docs/operating.md): packages, metrics, consumers.
# test_packages installs, upgrades and purges the Debian packages on this
# machine with dpkg: root only (else skipped, exit 77), never alongside others.
mutuo_integration_test(test_packages LABELS "ops;agent;tracker;receiver;dashboard" TIMEOUT 600)
set_tests_properties(integration.test_packages PROPERTIES RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
# Every /metrics endpoint and agent metrics file passes promtool check metrics.
mutuo_integration_test(test_metrics_scrape LABELS "ops;agent;tracker;receiver;dashboard" TIMEOUT 120)
set_tests_properties(integration.test_metrics_scrape PROPERTIES SKIP_RETURN_CODE 77)
# The mosquitto_sub consumer and the Telegraf mapping in docs/operating.md, on
# real results, validated against schemas/.
mutuo_integration_test(test_consumer_docs LABELS "ops;agent;receiver" TIMEOUT 120)
set_tests_properties(integration.test_consumer_docs PROPERTIES SKIP_RETURN_CODE 77)
# scripts/mutuo-config: export -> wipe -> import -> export gives the same document.
mutuo_integration_test(test_config_as_code LABELS "ops;dashboard" TIMEOUT 90)
# sd_notify: every service sends READY=1 once connected and STOPPING=1 on SIGTERM.
mutuo_integration_test(test_service_readiness LABELS "ops;agent;tracker;receiver;dashboard" TIMEOUT 90)
# A webhook channel made through the dashboard API gets the receiver's alerts
# (and is hidden from the reader role, masked to viewers, disabled, deleted).
mutuo_integration_test(test_ops_channels_webhook LABELS "ops;dashboard;alerts;security" TIMEOUT 90)
